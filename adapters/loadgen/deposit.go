package loadgen

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/textproto"
	"sync"
)

// depositRoute is the member's "Envoyer un document".
const depositRoute = "POST /v1/document-submissions"

// scan is the file a journey deposits: a small PNG (a 64×64 grey square), decoded in full by the server as any
// member's photo of a paper would be.
var scan = sync.OnceValue(func() []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.Gray{Y: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// depositBody is a deposit of one document of nature "other" on the subject "other" with the scan as its one file:
// the multipart form the API takes (a part "submission" in JSON, then the file as "documents[0].files").
func depositBody() (rawBody, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	sub, err := json.Marshal(map[string]any{"subject": "other", "attestation": true, "documents": []any{
		map[string]any{"nature": "other", "person": firstName + " " + lastName, "reason": "Justificatif envoyé par le banc de charge"}}})
	if err != nil {
		return rawBody{}, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="submission"`)
	h.Set("Content-Type", "application/json")
	part, err := w.CreatePart(h)
	if err != nil {
		return rawBody{}, err
	}
	if _, err := part.Write(sub); err != nil {
		return rawBody{}, err
	}
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="documents[0].files"; filename="justificatif.png"`)
	h.Set("Content-Type", "image/png")
	if part, err = w.CreatePart(h); err != nil {
		return rawBody{}, err
	}
	if _, err := part.Write(scan()); err != nil {
		return rawBody{}, err
	}
	if err := w.Close(); err != nil {
		return rawBody{}, err
	}
	return rawBody{contentType: w.FormDataContentType(), data: b.Bytes()}, nil
}
