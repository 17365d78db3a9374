// Package rtsp is the small RTSP 1.0 client the device health checks need
// (RFC 2326, with RFC 7826's clarifications): requests and responses over
// one TCP connection, Basic and Digest authentication (RFC 7616), and the
// media lines of an SDP session description (RFC 4566). It does not play
// media: a check needs to know that a camera answers and describes a video
// track, not to decode it.
package rtsp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits keep a misbehaving peer from making a reader buffer without end.
const (
	maxLine    = 4096
	maxHeaders = 64
	maxBody    = 64 << 10
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("rtsp: malformed message")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Header is a message's header fields in the order they came. Names are
// compared without regard to case, as RFC 2326 §4.2 requires.
type Header []Field

// Field is one header line.
type Field struct{ Name, Value string }

// Get returns the first value of the named field, or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value of the named field.
func (h Header) Values(name string) []string {
	var v []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			v = append(v, f.Value)
		}
	}
	return v
}

// Set replaces the named field's values with one.
func (h *Header) Set(name, value string) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*h = append(out, Field{name, value})
}

// Request is an RTSP request.
type Request struct {
	Method string
	URL    string
	Header Header
	Body   []byte
}

// Response is an RTSP response.
type Response struct {
	StatusCode int
	Reason     string
	Header     Header
	Body       []byte
}

// CSeq is the response's sequence number, or -1 when it has none.
func (r *Response) CSeq() int {
	n, err := strconv.Atoi(strings.TrimSpace(r.Header.Get("CSeq")))
	if err != nil {
		return -1
	}
	return n
}

// WriteTo writes the request in wire format.
func (r *Request) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s RTSP/1.0\r\n", r.Method, r.URL)
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, "Content-Length") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", f.Name, f.Value)
	}
	if len(r.Body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// WriteTo writes the response in wire format.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "RTSP/1.0 %d %s\r\n", r.StatusCode, r.Reason)
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, "Content-Length") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", f.Name, f.Value)
	}
	if len(r.Body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// readLine reads one line ended by LF (a CR before it is dropped), no
// longer than maxLine.
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		line = append(line, chunk...)
		if len(line) > maxLine {
			return "", malformed("line longer than %d bytes", maxLine)
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

// readHeaderAndBody reads header lines up to the blank line, then the body
// Content-Length announces.
func readHeaderAndBody(r *bufio.Reader) (Header, []byte, error) {
	var h Header
	for {
		line, err := readLine(r)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			// A folded continuation of the field before (RFC 2616 §2.2).
			h[len(h)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, nil, malformed("header line %q", line)
		}
		if len(h) == maxHeaders {
			return nil, nil, malformed("more than %d header fields", maxHeaders)
		}
		h = append(h, Field{name, strings.TrimSpace(value)})
	}
	var body []byte
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 {
			return nil, nil, malformed("Content-Length %q", cl)
		}
		if n > maxBody {
			return nil, nil, malformed("body of %d bytes is over the %d limit", n, maxBody)
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, nil, fmt.Errorf("rtsp: body: %w", err)
		}
	}
	return h, body, nil
}

// SkipInterleaved discards the RTP/RTCP frames a server interleaves on the
// connection ('$', channel, 16-bit length, data; RFC 2326 §10.12) until
// the next byte begins a text message. It returns the frames skipped.
func SkipInterleaved(r *bufio.Reader) (int, error) {
	n := 0
	for {
		b, err := r.Peek(1)
		if err != nil {
			return n, err
		}
		if b[0] != '$' {
			return n, nil
		}
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return n, err
		}
		size := int(hdr[2])<<8 | int(hdr[3])
		if _, err := r.Discard(size); err != nil {
			return n, err
		}
		n++
	}
}

// ReadResponse reads one response, skipping interleaved frames before it.
func ReadResponse(r *bufio.Reader) (*Response, error) {
	if _, err := SkipInterleaved(r); err != nil {
		return nil, err
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "RTSP/") {
		return nil, malformed("status line %q", line)
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || n < 100 || n > 999 {
		return nil, malformed("status code %q", code)
	}
	h, body, err := readHeaderAndBody(r)
	if err != nil {
		return nil, err
	}
	return &Response{StatusCode: n, Reason: reason, Header: h, Body: body}, nil
}

// ReadRequest reads one request, skipping interleaved frames before it.
func ReadRequest(r *bufio.Reader) (*Request, error) {
	if _, err := SkipInterleaved(r); err != nil {
		return nil, err
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "RTSP/") || parts[0] == "" || parts[1] == "" {
		return nil, malformed("request line %q", line)
	}
	for _, c := range parts[0] {
		if c < 'A' || c > 'Z' {
			if c != '_' {
				return nil, malformed("method %q", parts[0])
			}
		}
	}
	h, body, err := readHeaderAndBody(r)
	if err != nil {
		return nil, err
	}
	return &Request{Method: parts[0], URL: parts[1], Header: h, Body: body}, nil
}
