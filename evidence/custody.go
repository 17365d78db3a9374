package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// The actions of the custody log.
const (
	ActRequested  = "requested"
	ActApproved   = "approved"
	ActRefused    = "refused"
	ActExported   = "exported"
	ActFailed     = "export_failed"
	ActDownloaded = "downloaded"
	ActShared     = "shared"
	ActRetained   = "retained"
	ActReleased   = "released"
)

// CustodyEntry is one line of a request's custody log. Each carries the hash of
// the one before (Prev, "" for the first) and its own Hash over all its
// other fields, so that changing, removing or reordering any entry breaks
// the chain from there on.
type CustodyEntry struct {
	Seq     int             `json:"seq"`
	At      time.Time       `json:"at"`
	Action  string          `json:"action"`
	ActorID int64           `json:"actor_id,omitempty"`
	Actor   string          `json:"actor"`
	From    string          `json:"from,omitempty"` // the address it was done from
	Detail  json.RawMessage `json:"detail,omitempty"`
	Prev    string          `json:"prev"`
	Hash    string          `json:"hash"`
}

// ComputeHash is the SHA-256 of the entry's JSON without its Hash.
func (e CustodyEntry) ComputeHash() string {
	e.Hash = ""
	e.At = e.At.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		// Detail that is not JSON cannot be hashed the same twice.
		b = []byte(fmt.Sprintf("unencodable entry %d: %v", e.Seq, err))
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Seal completes e as the entry after prev (nil for the first): its
// number, its Prev and its Hash. Times are kept to the microsecond, which
// every store keeps, so that the hash of an entry read back is the same.
func Seal(e CustodyEntry, prev *CustodyEntry) CustodyEntry {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.Seq, e.Prev = 1, ""
	if prev != nil {
		e.Seq, e.Prev = prev.Seq+1, prev.Hash
	}
	if len(e.Detail) > 0 {
		// Stored and hashed compact, as encoding/json writes it back.
		if b, err := json.Marshal(e.Detail); err == nil {
			e.Detail = b
		}
	}
	e.Hash = e.ComputeHash()
	return e
}

// ChainError says which entry of a custody log is wrong and how.
type ChainError struct {
	Seq    int // the entry's number; its place in the log when that is wrong
	Reason string
}

func (e *ChainError) Error() string { return fmt.Sprintf("custody entry %d: %s", e.Seq, e.Reason) }

// VerifyChain checks that the entries are numbered from 1 with no gap,
// that each one's Hash is its own and that each carries the hash of the
// one before. It returns the first entry that is wrong.
func VerifyChain(entries []CustodyEntry) error {
	prev := ""
	for i, e := range entries {
		if e.Seq != i+1 {
			return &ChainError{Seq: i + 1, Reason: fmt.Sprintf("is numbered %d: an entry is missing or out of order", e.Seq)}
		}
		if got := e.ComputeHash(); got != e.Hash {
			return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("was changed: its content hashes to %s, not the %s it carries", short(got), short(e.Hash))}
		}
		if e.Prev != prev {
			return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("does not follow entry %d: it carries previous hash %s, entry %d's is %s", e.Seq-1, short(e.Prev), e.Seq-1, short(prev))}
		}
		prev = e.Hash
	}
	return nil
}

func short(h string) string {
	if h == "" {
		return "(none)"
	}
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// ExportedFile is what the exported entry says of one file.
type ExportedFile struct {
	Name     string `json:"name"`
	CameraID int64  `json:"camera_id"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
}

// ExportedDetail is the detail of an exported entry.
type ExportedDetail struct {
	Files []ExportedFile `json:"files"`
}
