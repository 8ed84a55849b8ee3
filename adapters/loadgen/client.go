package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotLoopback refuses a target that is not on this machine's loopback interface: the generator is a benchmark,
// never a tool to load someone else's server.
var ErrNotLoopback = errors.New("loadgen: the target must be a loopback address (127.0.0.0/8, ::1 or localhost)")

// CheckLoopback parses target (http://host:port) and refuses it unless its host is a loopback address. A name other
// than localhost is refused without being resolved.
func CheckLoopback(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("loadgen: target %q: %w", target, err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("loadgen: target %q: want http://host:port", target)
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, host)
	}
	return u, nil
}

// client is one simulated person: an HTTP client whose connections leave from its own loopback address when the
// target is on 127.0.0.0/8 (the server throttles registrations and logins per client address, as it would for people
// at home), and its session token.
type client struct {
	base  string
	http  *http.Client
	token string
	nir   string // a member's, for a new login
	rec   *recorder
}

// newClient returns a client whose connections come from source (nil: the system's choice).
func newClient(base string, source net.IP, rec *recorder, timeout time.Duration) *client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if source != nil {
		d.LocalAddr = &net.TCPAddr{IP: source}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		DisableCompression: true}
	return &client{base: strings.TrimSuffix(base, "/"), http: &http.Client{Transport: tr, Timeout: timeout}, rec: rec}
}

// sourceFor gives the n-th simulated person an address of its own on 127.0.0.0/8 when the target is there.
func sourceFor(target *url.URL, group, n int) net.IP {
	ip := net.ParseIP(target.Hostname()).To4()
	if ip == nil || ip[0] != 127 {
		return nil
	}
	return net.IPv4(127, byte(group), byte(n/250), byte(n%250+1))
}

// rawBody is a request body sent as it is (a multipart deposit), not encoded as JSON.
type rawBody struct {
	contentType string
	data        []byte
}

// answer is what a call returned: the status, a few headers and the decoded JSON body.
type answer struct {
	status int
	header http.Header
	raw    []byte // the body, decoded only by the steps that read it (the generator shares the server's CPUs)
}

// decode decodes the body into v (a struct of the fields the step reads), leaving v as it was when it is not JSON.
func (a answer) decode(v any) { _ = json.Unmarshal(a.raw, v) }

// str returns the top-level string field key of a JSON object body ("" when absent).
func (a answer) str(key string) string {
	var fields map[string]json.RawMessage
	a.decode(&fields)
	var s string
	_ = json.Unmarshal(fields[key], &s)
	return s
}

// outcome classifies an answer for the report.
type outcome int

const (
	ok outcome = iota
	expectedRefusal
	unexpected
)

// call sends one request and records it under route (the method and path pattern). expect lists the answers outside
// 2xx the caller expects: a status ("409") or a status and error code ("404 queue.empty"). A request cut by the end
// of the run (ctx done) is not recorded.
func (c *client) call(ctx context.Context, route, method, path string, body any, hdr map[string]string,
	expect ...string) (answer, error) {
	var (
		rd    io.Reader
		ctype string
	)
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd, ctype = bytes.NewReader(b.data), b.contentType
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		c.rec.add(route, time.Since(start), unexpected, "transport error")
		return answer{}, err
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		c.rec.add(route, elapsed, unexpected, "body: "+err.Error())
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	switch {
	case a.status >= 200 && a.status < 300:
		c.rec.add(route, elapsed, ok, "")
	case slices.Contains(expect, strconv.Itoa(a.status)) || slices.Contains(expect, strconv.Itoa(a.status)+" "+a.str("code")):
		c.rec.add(route, elapsed, expectedRefusal, "")
	default:
		// The error code is a stable machine code, never personal data; the body is not kept.
		c.rec.add(route, elapsed, unexpected, strconv.Itoa(a.status)+" "+a.str("code"))
		return a, fmt.Errorf("%s: %d %s", route, a.status, a.str("code"))
	}
	return a, nil
}

// retryAfter is how long a 429 asks to wait (at least a second).
func retryAfter(a answer) time.Duration {
	if n, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return time.Second
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
