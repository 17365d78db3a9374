// Package s3 keeps media bytes in S3-compatible object storage (MinIO,
// Ceph, a cloud's): each object named by its SHA-256 under a prefix.
// Bytes are streamed up in parts to a temporary key while they are
// hashed, then copied to their hash on the server, so nothing is ever
// found under a hash that it does not have.
package s3

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/media"
)

// partSize is the size of the parts of an upload: the one buffer an
// upload holds in memory, whatever the size of the file.
const partSize = 8 << 20

// Config says where the storage is and how to sign in. The bucket and
// prefix come from the s3:// URL.
type Config struct {
	// Endpoint is the server: an http:// or https:// URL, or host:port
	// (HTTPS).
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
}

// ConfigFromEnv reads SHEQU_S3_ENDPOINT and the usual AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_REGION (AWS_ENDPOINT_URL when
// SHEQU_S3_ENDPOINT is not set).
func ConfigFromEnv() Config {
	c := Config{Endpoint: os.Getenv("SHEQU_S3_ENDPOINT"), AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), Region: os.Getenv("AWS_REGION")}
	if c.Endpoint == "" {
		c.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	return c
}

// Blobs is a bucket (and a prefix in it) of media bytes.
type Blobs struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ media.Blobs = (*Blobs)(nil)

// New connects to the bucket of an s3://bucket/prefix URL and checks
// that it is there.
func New(ctx context.Context, rawURL string, c Config) (*Blobs, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("media: %q is not an s3://bucket/prefix URL", rawURL)
	}
	if c.Endpoint == "" {
		return nil, errors.New("media: S3 needs an endpoint (SHEQU_S3_ENDPOINT)")
	}
	host, secure := c.Endpoint, true
	if e, err := url.Parse(c.Endpoint); err == nil && e.Host != "" {
		host, secure = e.Host, e.Scheme != "http"
	}
	client, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: secure,
		Region: c.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("media: S3 client: %w", err)
	}
	b := &Blobs{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	ok, err := client.BucketExists(ctx, b.bucket)
	if err != nil {
		return nil, fmt.Errorf("media: S3 bucket %s: %w", b.bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("media: S3 bucket %s does not exist", b.bucket)
	}
	return b, nil
}

func (b *Blobs) key(sha string) string {
	return path.Join(b.prefix, sha[:2], sha[2:4], sha)
}

// Put uploads r to a temporary key in parts while hashing it, copies it
// to its hash on the server and removes the temporary key.
func (b *Blobs) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	var nonce [12]byte
	rand.Read(nonce[:])
	tmp := path.Join(b.prefix, "tmp", hex.EncodeToString(nonce[:]))
	h := sha256.New()
	// An upload of unknown length is a multipart one, whose one part may
	// not be empty: nothing at all goes up as an object of length 0.
	br := bufio.NewReader(r)
	var size int64 = -1
	if _, err := br.Peek(1); err == io.EOF {
		size = 0
	} else if err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	info, err := b.client.PutObject(ctx, b.bucket, tmp, io.TeeReader(br, h), size,
		minio.PutObjectOptions{PartSize: partSize, ContentType: "application/octet-stream",
			// Each part carries its MD5 for the server to check, rather
			// than the chunk-signed payload, which not every
			// S3-compatible server takes in a multipart upload.
			SendContentMd5: true, DisableContentSha256: true})
	if err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	// The temporary object goes whatever happens next; with a detached
	// context, so that a cancelled request does not leave it.
	defer b.client.RemoveObject(context.WithoutCancel(ctx), b.bucket, tmp, minio.RemoveObjectOptions{})
	sha := hex.EncodeToString(h.Sum(nil))
	_, err = b.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: b.bucket, Object: b.key(sha)}, minio.CopySrcOptions{Bucket: b.bucket, Object: tmp})
	if err != nil {
		return "", 0, fmt.Errorf("media put: copy to %s: %w", sha, err)
	}
	return sha, info.Size, nil
}

// Open returns the object of sha; reads after a Seek fetch from there on,
// so a range request reads only its range.
func (b *Blobs) Open(ctx context.Context, sha string) (*media.Blob, error) {
	if err := media.CheckSHA(sha); err != nil {
		return nil, err
	}
	obj, err := b.client.GetObject(ctx, b.bucket, b.key(sha), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("media open: %w", err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, shequ.Errorf(shequ.ENOTFOUND, "media: no bytes %s", sha)
		}
		return nil, fmt.Errorf("media open: %w", err)
	}
	return &media.Blob{ReadSeekCloser: obj, Size: st.Size, ModTime: st.LastModified}, nil
}

// Delete removes the object of sha.
func (b *Blobs) Delete(ctx context.Context, sha string) error {
	if err := media.CheckSHA(sha); err != nil {
		return err
	}
	if err := b.client.RemoveObject(ctx, b.bucket, b.key(sha), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("media delete: %w", err)
	}
	return nil
}
