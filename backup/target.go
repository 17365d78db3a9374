package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/shequ/shequ/media/s3"
)

// Target is where backups are kept: a folder or an object-storage prefix.
// Names are slash-separated paths below it.
type Target interface {
	// Put writes what r yields to name, whole or not at all.
	Put(ctx context.Context, name string, r io.Reader) error
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	Exists(ctx context.Context, name string) (bool, error)
	// List returns the names of the top-level entries (the backups).
	List(ctx context.Context) ([]string, error)
	// RemoveAll removes name and everything below it.
	RemoveAll(ctx context.Context, name string) error
	String() string
}

// OpenTarget opens a folder, or an s3://bucket/prefix URL with the
// endpoint and keys of s3.ConfigFromEnv.
func OpenTarget(ctx context.Context, where string) (Target, error) {
	if strings.HasPrefix(where, "s3://") {
		return NewS3(ctx, where, s3.ConfigFromEnv())
	}
	if where == "" {
		return nil, errors.New("backup: say where: a folder or s3://bucket/prefix")
	}
	return Dir(where), nil
}

// Dir is a folder of backups.
type Dir string

func (d Dir) String() string { return string(d) }

func (d Dir) path(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", fmt.Errorf("backup: bad name %q", name)
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

// Put writes into a temporary file, syncs and renames it.
func (d Dir) Put(ctx context.Context, name string, r io.Reader) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	ok = true
	return nil
}

func (d Dir) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d Dir) Exists(ctx context.Context, name string) (bool, error) {
	p, err := d.path(name)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d Dir) List(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (d Dir) RemoveAll(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// S3 is a prefix in a bucket of S3-compatible object storage.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

// NewS3 opens the bucket of an s3://bucket/prefix URL.
func NewS3(ctx context.Context, rawURL string, c s3.Config) (*S3, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("backup: %q is not an s3://bucket/prefix URL", rawURL)
	}
	if c.Endpoint == "" {
		return nil, errors.New("backup: S3 needs an endpoint (SHEQU_S3_ENDPOINT)")
	}
	host, secure := c.Endpoint, true
	if e, err := url.Parse(c.Endpoint); err == nil && e.Host != "" {
		host, secure = e.Host, e.Scheme != "http"
	}
	client, err := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), Secure: secure, Region: c.Region})
	if err != nil {
		return nil, fmt.Errorf("backup: S3 client: %w", err)
	}
	t := &S3{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	ok, err := client.BucketExists(ctx, t.bucket)
	if err != nil {
		return nil, fmt.Errorf("backup: S3 bucket %s: %w", t.bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("backup: S3 bucket %s does not exist", t.bucket)
	}
	return t, nil
}

func (t *S3) String() string { return "s3://" + path.Join(t.bucket, t.prefix) }

func (t *S3) key(name string) string { return path.Join(t.prefix, name) }

// Put uploads in parts; an object appears only when its upload completes.
func (t *S3) Put(ctx context.Context, name string, r io.Reader) error {
	_, err := t.client.PutObject(ctx, t.bucket, t.key(name), r, -1,
		minio.PutObjectOptions{PartSize: 16 << 20, ContentType: "application/octet-stream", SendContentMd5: true, DisableContentSha256: true})
	return err
}

func (t *S3) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	obj, err := t.client.GetObject(ctx, t.bucket, t.key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, err
	}
	return obj, nil
}

func (t *S3) Exists(ctx context.Context, name string) (bool, error) {
	_, err := t.client.StatObject(ctx, t.bucket, t.key(name), minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return false, nil
	}
	return false, err
}

func (t *S3) List(ctx context.Context) ([]string, error) {
	prefix := t.prefix
	if prefix != "" {
		prefix += "/"
	}
	var out []string
	for obj := range t.client.ListObjects(ctx, t.bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(obj.Key, prefix), "/")
		if name != "" && !strings.Contains(name, "/") {
			out = append(out, name)
		}
	}
	return out, nil
}

func (t *S3) RemoveAll(ctx context.Context, name string) error {
	objs := t.client.ListObjects(ctx, t.bucket, minio.ListObjectsOptions{Prefix: t.key(name) + "/", Recursive: true})
	for e := range t.client.RemoveObjects(ctx, t.bucket, objs, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			return e.Err
		}
	}
	return nil
}
