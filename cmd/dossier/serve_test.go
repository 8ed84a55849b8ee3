package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Once serving, one log line says where to look next: the OpenAPI document's URL and the README's first steps.
func TestServeSaysWhereToLookNext(t *testing.T) {
	var buf bytes.Buffer
	logNextSteps(slog.New(slog.NewTextHandler(&buf, nil)), "127.0.0.1:8080")
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "http://127.0.0.1:8080/openapi.json") ||
		!strings.Contains(line, "First steps") {
		t.Errorf("next-steps line %q", line)
	}
}
