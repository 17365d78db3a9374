package s3_test

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/shequ/shequ/media/mediatest"
	"github.com/shequ/shequ/media/s3"
)

// server returns an S3 server on loopback and the URL of a bucket in it:
// a real one when SHEQU_TEST_S3 names it (s3://bucket/prefix, with
// SHEQU_S3_ENDPOINT and the AWS_ credentials set), else gofakes3 in
// memory.
func server(t *testing.T) (string, s3.Config) {
	if u := os.Getenv("SHEQU_TEST_S3"); u != "" {
		return u, s3.ConfigFromEnv()
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(hs.Close)
	return "s3://media/shequ-test", s3.Config{Endpoint: hs.URL, AccessKey: "test", SecretKey: "test-secret", Region: "us-east-1"}
}

func TestBlobs(t *testing.T) {
	u, c := server(t)
	if !strings.HasPrefix(c.Endpoint, "http://127.0.0.1") {
		t.Logf("S3 at %s", c.Endpoint)
	}
	b, err := s3.New(t.Context(), u, c)
	if err != nil {
		t.Fatal(err)
	}
	mediatest.Run(t, b)
}

func TestNewRefuses(t *testing.T) {
	_, c := server(t)
	for _, u := range []string{"http://media/x", "s3:///x", "s3://missing-bucket/x"} {
		if _, err := s3.New(t.Context(), u, c); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
}
