// Package onvif talks to IP cameras the few ways shequ needs: the ONVIF
// calls that find a camera's snapshot address (GetCapabilities,
// GetProfiles, GetSnapshotUri) over SOAP 1.2 with a WS-Security
// UsernameToken (PasswordDigest), and an HTTP GET with the Basic or Digest
// authentication cameras and recorders ask for. No ONVIF module is
// reachable from this project's module proxy; these calls are written with
// encoding/xml.
package onvif

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one camera's ONVIF device service.
type Client struct {
	// DeviceURL is the device service, e.g. http://cam/onvif/device_service.
	DeviceURL string
	Username  string
	Password  string
	// HTTP is the client the calls go through; nil uses one with a
	// 10-second timeout.
	HTTP *http.Client
	// Now gives the time written in the UsernameToken; nil is time.Now.
	// A camera refuses a token whose time is far from its own clock.
	Now func() time.Time
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// The namespaces of the calls.
const (
	nsSOAP   = "http://www.w3.org/2003/05/soap-envelope"
	nsDevice = "http://www.onvif.org/ver10/device/wsdl"
	nsMedia  = "http://www.onvif.org/ver10/media/wsdl"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	// PasswordDigestType and NonceEncoding are the token's attribute values.
	PasswordDigestType = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	NonceEncoding      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

type envelope struct {
	XMLName xml.Name `xml:"s:Envelope"`
	NS      string   `xml:"xmlns:s,attr"`
	Header  *header  `xml:"s:Header,omitempty"`
	Body    body     `xml:"s:Body"`
}

type header struct {
	Security security `xml:"Security"`
}

type security struct {
	NS             string        `xml:"xmlns,attr"`
	MustUnderstand string        `xml:"s:mustUnderstand,attr"`
	Token          usernameToken `xml:"UsernameToken"`
}

type usernameToken struct {
	Username string   `xml:"Username"`
	Password password `xml:"Password"`
	Nonce    nonce    `xml:"Nonce"`
	Created  created  `xml:"Created"`
}

type password struct {
	Type  string `xml:"Type,attr"`
	Value string `xml:",chardata"`
}

type nonce struct {
	EncodingType string `xml:"EncodingType,attr"`
	Value        string `xml:",chardata"`
}

type created struct {
	NS    string `xml:"xmlns,attr"`
	Value string `xml:",chardata"`
}

type body struct {
	Content any
}

// Digest is the WS-Security PasswordDigest: Base64(SHA-1(nonce + created
// + password)), the nonce as raw bytes.
func Digest(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// token makes a fresh UsernameToken for the client's credentials.
func (c *Client) token() (usernameToken, error) {
	n := make([]byte, 16)
	if _, err := rand.Read(n); err != nil {
		return usernameToken{}, err
	}
	at := c.now().Format("2006-01-02T15:04:05.000Z")
	return usernameToken{
		Username: c.Username,
		Password: password{Type: PasswordDigestType, Value: Digest(n, at, c.Password)},
		Nonce:    nonce{EncodingType: NonceEncoding, Value: base64.StdEncoding.EncodeToString(n)},
		Created:  created{NS: nsWSU, Value: at},
	}, nil
}

// Fault is a SOAP fault the camera answered with: wrong credentials, a
// call it does not know.
type Fault struct {
	Code   string
	Reason string
	Status int
}

func (f *Fault) Error() string {
	return fmt.Sprintf("onvif: camera answered HTTP %d fault %s: %s", f.Status, f.Code, f.Reason)
}

// call posts one request to url and decodes the Body's one element into out.
func (c *Client) call(ctx context.Context, url string, request any, out any) error {
	env := envelope{NS: nsSOAP, Body: body{Content: request}}
	if c.Username != "" {
		t, err := c.token()
		if err != nil {
			return err
		}
		env.Header = &header{Security: security{NS: nsWSSE, MustUnderstand: "1", Token: t}}
	}
	b, err := xml.Marshal(env)
	if err != nil {
		return fmt.Errorf("onvif: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(append([]byte(xml.Header), b...)))
	if err != nil {
		return fmt.Errorf("onvif: %w", err)
	}
	req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8`)
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("onvif: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("onvif: read answer: %w", err)
	}
	var got struct {
		Body struct {
			Fault *struct {
				Code struct {
					Value   string `xml:"Value"`
					Subcode struct {
						Value string `xml:"Value"`
					} `xml:"Subcode"`
				} `xml:"Code"`
				Reason struct {
					Text string `xml:"Text"`
				} `xml:"Reason"`
			} `xml:"Fault"`
			Inner []byte `xml:",innerxml"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(data, &got); err != nil {
		return fmt.Errorf("onvif: answer (HTTP %d) is not SOAP: %w", resp.StatusCode, err)
	}
	if f := got.Body.Fault; f != nil {
		code := f.Code.Value
		if f.Code.Subcode.Value != "" {
			code = f.Code.Subcode.Value
		}
		return &Fault{Code: code, Reason: strings.TrimSpace(f.Reason.Text), Status: resp.StatusCode}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("onvif: camera answered HTTP %d", resp.StatusCode)
	}
	if err := xml.Unmarshal(got.Body.Inner, out); err != nil {
		return fmt.Errorf("onvif: answer: %w", err)
	}
	return nil
}

type getCapabilities struct {
	XMLName  xml.Name `xml:"GetCapabilities"`
	NS       string   `xml:"xmlns,attr"`
	Category string   `xml:"Category"`
}

type getProfiles struct {
	XMLName xml.Name `xml:"GetProfiles"`
	NS      string   `xml:"xmlns,attr"`
}

type getSnapshotURI struct {
	XMLName      xml.Name `xml:"GetSnapshotUri"`
	NS           string   `xml:"xmlns,attr"`
	ProfileToken string   `xml:"ProfileToken"`
}

// MediaURL asks the device service where its media service is.
func (c *Client) MediaURL(ctx context.Context) (string, error) {
	var out struct {
		XAddr string `xml:"Capabilities>Media>XAddr"`
	}
	if err := c.call(ctx, c.DeviceURL, getCapabilities{NS: nsDevice, Category: "Media"}, &out); err != nil {
		return "", err
	}
	if out.XAddr == "" {
		return "", errors.New("onvif: the camera names no media service")
	}
	return strings.TrimSpace(out.XAddr), nil
}

// Profile is a media profile of a camera.
type Profile struct {
	Token string `xml:"token,attr"`
	Name  string `xml:"Name"`
}

// Profiles lists the media profiles at the media service mediaURL.
func (c *Client) Profiles(ctx context.Context, mediaURL string) ([]Profile, error) {
	var out struct {
		Profiles []Profile `xml:"Profiles"`
	}
	if err := c.call(ctx, mediaURL, getProfiles{NS: nsMedia}, &out); err != nil {
		return nil, err
	}
	return out.Profiles, nil
}

// SnapshotURI asks the media service for the snapshot address of a
// profile.
func (c *Client) SnapshotURI(ctx context.Context, mediaURL, profile string) (string, error) {
	var out struct {
		URI string `xml:"MediaUri>Uri"`
	}
	if err := c.call(ctx, mediaURL, getSnapshotURI{NS: nsMedia, ProfileToken: profile}, &out); err != nil {
		return "", err
	}
	if out.URI == "" {
		return "", errors.New("onvif: the camera gave no snapshot address")
	}
	return strings.TrimSpace(out.URI), nil
}

// FindSnapshotURI goes the whole way: the media service, its first
// profile, that profile's snapshot address.
func (c *Client) FindSnapshotURI(ctx context.Context) (string, error) {
	mediaURL, err := c.MediaURL(ctx)
	if err != nil {
		return "", err
	}
	ps, err := c.Profiles(ctx, mediaURL)
	if err != nil {
		return "", err
	}
	if len(ps) == 0 {
		return "", errors.New("onvif: the camera has no media profile")
	}
	return c.SnapshotURI(ctx, mediaURL, ps[0].Token)
}
