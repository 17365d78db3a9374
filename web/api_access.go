package web

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/shequ/shequ"
	acs "github.com/shequ/shequ/access"
	"github.com/shequ/shequ/auth"
)

// accessStore is what access control needs.
type accessStore interface {
	ListDoors(ctx context.Context, scope auth.Scope, f acs.DoorFilter) (shequ.List[acs.Door], error)
	Door(ctx context.Context, scope auth.Scope, id int64) (acs.Door, error)
	CreateDoor(ctx context.Context, scope auth.Scope, d *acs.Door) error
	UpdateDoor(ctx context.Context, scope auth.Scope, d *acs.Door) error
	ListCredentials(ctx context.Context, scope auth.Scope, f acs.CredentialFilter) (shequ.List[acs.Credential], error)
	Credential(ctx context.Context, scope auth.Scope, id int64) (acs.Credential, error)
	CreateCredential(ctx context.Context, scope auth.Scope, c *acs.Credential) error
	RevokeCredential(ctx context.Context, scope auth.Scope, id int64, reason string) error
	PhoneKeyToken(ctx context.Context, scope auth.Scope, id int64) (string, error)
	ListPasses(ctx context.Context, scope auth.Scope, f acs.PassFilter) (shequ.List[acs.Pass], error)
	Pass(ctx context.Context, scope auth.Scope, id int64) (acs.Pass, error)
	CreatePass(ctx context.Context, scope auth.Scope, p *acs.Pass) (string, error)
	PassToken(ctx context.Context, scope auth.Scope, id int64) (string, error)
	RevokePass(ctx context.Context, scope auth.Scope, id int64) error
	MoveOutHousehold(ctx context.Context, scope auth.Scope, id int64) (int, error)
	ListAccessLog(ctx context.Context, scope auth.Scope, f acs.LogFilter) (shequ.List[acs.LogEntry], error)
	AccessPublicKey(ctx context.Context, community int64) (ed25519.PublicKey, error)
	AccessRevocations(ctx context.Context, community int64) (acs.Revocations, error)
	WelfareWatch(ctx context.Context, scope auth.Scope, person int64) (acs.WelfareWatch, error)
	SetWelfareWatch(ctx context.Context, scope auth.Scope, w *acs.WelfareWatch) error
	StopWelfareWatch(ctx context.Context, scope auth.Scope, person int64) error
	acs.Service
}

type doorBody struct {
	DeviceID        int64  `json:"device_id,omitempty" doc:"A registered door_controller; without it one is registered for the door"`
	BuildingID      int64  `json:"building_id,omitempty" doc:"The building of an entrance; none for a gate or the bicycle shed"`
	CommunityID     int64  `json:"community_id,omitempty" doc:"For a door without a building or device"`
	Name            string `json:"name" minLength:"1" maxLength:"100"`
	Kind            string `json:"kind,omitempty" enum:"entrance,gate,shed," doc:"entrance (with a building, the default) or gate (without); shed for the bicycle shed"`
	Entrance        string `json:"entrance,omitempty" maxLength:"40" doc:"Which entrance (单元) of the building"`
	FireRelease     bool   `json:"fire_release,omitempty" doc:"Unlock this door on a fire alarm in its building (a gate or shed: in the community)"`
	HeldOpenSeconds int    `json:"held_open_seconds,omitempty" doc:"How long it may stand open before it is reported held open; 60 when not given"`
}

type credentialBody struct {
	PersonID    int64  `json:"person_id,omitempty"`
	Kind        string `json:"kind" enum:"card,pin,phone"`
	Value       string `json:"value,omitempty" maxLength:"40" doc:"The card's UID (hex) or the PIN; none for a phone key"`
	Role        string `json:"role,omitempty" enum:"resident,cleaner,staff," doc:"resident (default): their building and the gates, always; cleaner: every door Monday to Saturday 6–9; staff: every door"`
	Label       string `json:"label,omitempty" maxLength:"60"`
	UserID      int64  `json:"user_id,omitempty" doc:"A staff account the credential belongs to, instead of a resident"`
	CommunityID int64  `json:"community_id,omitempty" doc:"For a staff credential"`
}

type passBody struct {
	DoorIDs     []int64   `json:"door_ids,omitempty" doc:"Doors it opens, among those the household opens itself (its building's entrances, the gates, the bicycle shed; community staff may name any door of the community); the route to the home (gates and the home's entrances) when not given"`
	ValidFrom   time.Time `json:"valid_from,omitzero" doc:"Now when not given"`
	ValidUntil  time.Time `json:"valid_until,omitzero" doc:"A day after valid_from (a courier pass: 30 minutes) when not given; at most 7 days"`
	Uses        int       `json:"uses,omitempty" minimum:"0" maximum:"50" doc:"How many times it opens a door; 2 (a courier pass: 1) when not given"`
	VisitorName string    `json:"visitor_name,omitempty" maxLength:"40"`
	Kind        string    `json:"kind,omitempty" enum:"visitor,courier," doc:"visitor (default) or courier"`
	HouseholdID int64     `json:"household_id,omitempty" doc:"Whose visitor; a resident's own household when not given"`
}

type passCreated struct {
	ID       int64    `json:"id"`
	Token    string   `json:"token" doc:"The signed token the QR code carries; a controller checks it with the public key alone"`
	QRPNGURL string   `json:"qr_png_url"`
	Pass     acs.Pass `json:"pass"`
}

type welfareBody struct {
	Enabled     bool   `json:"enabled"`
	Days        int    `json:"days,omitempty" minimum:"0" maximum:"30" doc:"Days without a door passage before the grid worker is sent; 3 when not given"`
	ConsentBy   string `json:"consent_by,omitempty" enum:"resident,family," doc:"Who consented; required to switch it on"`
	ConsentNote string `json:"consent_note,omitempty" maxLength:"200" doc:"How and when consent was given"`
}

type decideBody struct {
	DoorID     int64         `json:"door_id" minimum:"1"`
	Credential acs.Presented `json:"credential"`
}

type publicKeyBody struct {
	CommunityID int64  `json:"community_id"`
	Algorithm   string `json:"algorithm"`
	PublicKey   string `json:"public_key" doc:"Ed25519 public key, base64"`
}

type pngOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

// QRPNG renders s as a QR code image.
func QRPNG(s string, size int) ([]byte, error) {
	return qrcode.Encode(s, qrcode.Medium, size)
}

func (s *Server) registerAccessAPI() {
	handle(s, get("/api/v1/access/doors", auth.PermAccessRead), "list-doors", "Doors with their controllers' state", "access",
		func(ctx context.Context, in *struct {
			PageParams
			Building int64 `query:"building"`
		}) (*listBody[acs.Door], error) {
			return list(s.store.ListDoors(ctx, scope(ctx, auth.PermAccessRead), acs.DoorFilter{CommunityID: in.Community, BuildingID: in.Building, Page: in.page()}))
		})
	handle(s, post("/api/v1/access/doors", auth.PermAccessManage), "create-door", "Put a controller on a door (registers a door_controller device when none is given)", "access",
		func(ctx context.Context, in *bodyInput[doorBody]) (*itemBody[acs.Door], error) {
			b := in.Body
			d := acs.Door{DeviceID: b.DeviceID, BuildingID: b.BuildingID, CommunityID: b.CommunityID, Name: b.Name, Kind: b.Kind, Entrance: b.Entrance,
				FireRelease: b.FireRelease, HeldOpenSeconds: b.HeldOpenSeconds}
			if d.CommunityID == 0 && d.BuildingID == 0 && d.DeviceID == 0 {
				c, err := oneCommunity(0, scope(ctx, auth.PermAccessManage).Communities())
				if err != nil {
					return nil, err
				}
				d.CommunityID = c
			}
			err := s.store.CreateDoor(ctx, scope(ctx, auth.PermAccessManage), &d)
			return item(d, err)
		})
	handle(s, put("/api/v1/access/doors/{id}", auth.PermAccessManage), "update-door", "Change a door: name, kind, fire release, held-open limit", "access",
		func(ctx context.Context, in *idBodyInput[doorBody]) (*itemBody[acs.Door], error) {
			b := in.Body
			d := acs.Door{ID: in.ID, BuildingID: b.BuildingID, Name: b.Name, Kind: b.Kind, Entrance: b.Entrance, FireRelease: b.FireRelease, HeldOpenSeconds: b.HeldOpenSeconds}
			if err := s.store.UpdateDoor(ctx, scope(ctx, auth.PermAccessManage), &d); err != nil {
				return nil, err
			}
			return item(s.store.Door(ctx, scope(ctx, auth.PermAccessManage), in.ID))
		})
	handle(s, get("/api/v1/access/credentials", auth.PermAccessRead), "list-credentials", "Credentials (cards, PINs, phone keys); revoked ones with all=true", "access",
		func(ctx context.Context, in *struct {
			PageParams
			Household int64 `query:"household"`
			Person    int64 `query:"person"`
			All       bool  `query:"all"`
		}) (*listBody[acs.Credential], error) {
			return list(s.store.ListCredentials(ctx, scope(ctx, auth.PermAccessRead), acs.CredentialFilter{CommunityID: in.Community, HouseholdID: in.Household, PersonID: in.Person, All: in.All, Page: in.page()}))
		})
	handle(s, post("/api/v1/access/credentials", auth.PermAccessManage), "create-credential", "Issue a card, PIN or phone key to a resident (or a staff member)", "access",
		func(ctx context.Context, in *bodyInput[credentialBody]) (*itemBody[acs.Credential], error) {
			b := in.Body
			c := acs.Credential{PersonID: b.PersonID, Kind: b.Kind, Value: b.Value, Role: b.Role, Label: b.Label, UserID: b.UserID, CommunityID: b.CommunityID}
			err := s.store.CreateCredential(ctx, scope(ctx, auth.PermAccessManage), &c)
			return item(c, err)
		})
	handle(s, remove("/api/v1/access/credentials/{id}", auth.PermAccessManage), "revoke-credential", "Revoke a credential: it stops opening doors at once, controllers are told", "access",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.RevokeCredential(ctx, scope(ctx, auth.PermAccessManage), in.ID, "revoked")
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/access/credentials/{id}/lost", Permission: auth.PermAccessOwn, OK: true}, "report-lost-credential",
		"Report a card or phone lost (a resident: their household's): it stops opening doors at once", "access",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.RevokeCredential(ctx, scope(ctx, auth.PermAccessOwn), in.ID, "lost")
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/access/phone-key", Permission: auth.PermAccessOwn, OK: true}, "my-phone-key",
		"The caller's phone key with a fresh token (issued on first use)", "access",
		func(ctx context.Context, _ *struct{}) (*itemBody[phoneKey], error) {
			return item(s.myPhoneKey(ctx))
		})
	handle(s, get("/api/v1/access/passes", auth.PermAccessRead), "list-passes", "Visitor and courier passes with their uses, newest first", "access",
		func(ctx context.Context, in *struct {
			PageParams
			Household int64 `query:"household"`
			Active    bool  `query:"active"`
		}) (*listBody[acs.Pass], error) {
			return list(s.store.ListPasses(ctx, scope(ctx, auth.PermAccessRead), acs.PassFilter{CommunityID: in.Community, HouseholdID: in.Household, Active: in.Active, Page: in.page()}))
		})
	handle(s, post("/api/v1/access/passes", auth.PermAccessOwn), "create-pass", "Invite a visitor: a signed pass to share as a QR code or link", "access",
		func(ctx context.Context, in *bodyInput[passBody]) (*itemBody[passCreated], error) {
			return item(s.createPass(ctx, in.Body))
		})
	handle(s, remove("/api/v1/access/passes/{id}", auth.PermAccessOwn), "revoke-pass", "Revoke a pass: it stops opening doors at once, controllers are told", "access",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.RevokePass(ctx, scope(ctx, auth.PermAccessOwn), in.ID)
		})
	handle(s, get("/api/v1/access/passes/{id}/qr.png", auth.PermAccessRead), "pass-qr", "The pass's QR code as a PNG image", "access",
		func(ctx context.Context, in *IDParam) (*pngOutput, error) {
			tok, err := s.store.PassToken(ctx, scope(ctx, auth.PermAccessRead), in.ID)
			if err != nil {
				return nil, err
			}
			png, err := QRPNG(tok, 320)
			if err != nil {
				return nil, fmt.Errorf("qr code: %w", err)
			}
			return &pngOutput{ContentType: "image/png", CacheControl: "private, no-store", Body: png}, nil
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/access/decide", Permission: auth.PermAccessDecide, OK: true}, "access-decide",
		"Whether a credential opens a door now: the same decision the controllers get over MQTT", "access",
		func(ctx context.Context, in *bodyInput[decideBody]) (*itemBody[acs.Decision], error) {
			if _, err := s.store.Door(ctx, scope(ctx, auth.PermAccessDecide), in.Body.DoorID); err != nil {
				return nil, err
			}
			return item(s.store.Decide(ctx, in.Body.DoorID, in.Body.Credential, "api"))
		})
	handle(s, get("/api/v1/access/log", auth.PermAccessRead), "access-log", "Who came and went: search by door, person, household and time (each search is audited)", "access",
		func(ctx context.Context, in *struct {
			PageParams
			Door      int64     `query:"door"`
			Person    int64     `query:"person"`
			Household int64     `query:"household"`
			From      time.Time `query:"from" doc:"RFC 3339"`
			Until     time.Time `query:"until" doc:"RFC 3339, not included"`
		}) (*listBody[acs.LogEntry], error) {
			return list(s.store.ListAccessLog(ctx, scope(ctx, auth.PermAccessRead), acs.LogFilter{CommunityID: in.Community, DoorID: in.Door, PersonID: in.Person,
				HouseholdID: in.Household, From: in.From, Until: in.Until, Page: in.page()}))
		})
	handle(s, Route{Method: http.MethodGet, Path: "/api/v1/access/public-key", Public: true}, "access-public-key",
		"The community's Ed25519 public key: all a controller needs to check passes and phone keys offline", "access",
		func(ctx context.Context, in *struct {
			Community int64 `query:"community" minimum:"1" required:"true"`
		}) (*itemBody[publicKeyBody], error) {
			pub, err := s.store.AccessPublicKey(ctx, in.Community)
			if err != nil {
				return nil, err
			}
			return &itemBody[publicKeyBody]{Body: publicKeyBody{CommunityID: in.Community, Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub)}}, nil
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/households/{id}/move-out", Permission: auth.PermAccessManage, OK: true}, "move-out-household",
		"A household moved out: every card, phone key and pass of it and its members stops at once, controllers are told", "access",
		func(ctx context.Context, in *IDParam) (*itemBody[map[string]int], error) {
			n, err := s.store.MoveOutHousehold(ctx, scope(ctx, auth.PermAccessManage), in.ID)
			return item(map[string]int{"revoked": n}, err)
		})
	handle(s, get("/api/v1/people/{id}/welfare-watch", auth.PermAccessRead), "get-welfare-watch",
		"A living-alone resident's welfare watch: whether no door passage for some days sends their grid worker round", "access",
		func(ctx context.Context, in *IDParam) (*itemBody[acs.WelfareWatch], error) {
			return item(s.store.WelfareWatch(ctx, scope(ctx, auth.PermAccessRead), in.ID))
		})
	handle(s, put("/api/v1/people/{id}/welfare-watch", auth.PermAccessManage), "set-welfare-watch",
		"Switch a living-alone resident's welfare watch on with the consent given (theirs or their family's), or off", "access",
		func(ctx context.Context, in *idBodyInput[welfareBody]) (*itemBody[acs.WelfareWatch], error) {
			w := acs.WelfareWatch{PersonID: in.ID, Enabled: in.Body.Enabled, Days: in.Body.Days, ConsentBy: in.Body.ConsentBy, ConsentNote: in.Body.ConsentNote}
			if err := s.store.SetWelfareWatch(ctx, scope(ctx, auth.PermAccessManage), &w); err != nil {
				return nil, err
			}
			return item(s.store.WelfareWatch(ctx, scope(ctx, auth.PermAccessManage), in.ID))
		})
	handle(s, remove("/api/v1/people/{id}/welfare-watch", auth.PermAccessOwn), "stop-welfare-watch",
		"A resident switches their welfare watch off", "access",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.StopWelfareWatch(ctx, scope(ctx, auth.PermAccessOwn), in.ID)
		})
	// The signatures this node accepted lately: the webhook's replay
	// guard lives as long as the server.
	replays := newWebhookReplays(maxWebhookSignatures)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/access/webhook", Public: true, OK: true}, "access-webhook",
		"Controllers that call out: a request, an event or an upload of offline decisions, signed with HMAC-SHA256 over "+
			"\"<X-Shequ-Timestamp>.<X-Shequ-Door>.<body>\"; a timestamp more than 5 minutes from the server's clock, "+
			"or a signature this node accepted already, is refused (sign each call afresh; an id in the body tells apart two calls of the same second)", "access",
		func(ctx context.Context, in *webhookInput) (*itemBody[webhookAnswer], error) {
			return s.accessWebhook(ctx, in, replays)
		})
}

// phoneKey is a resident's phone key and the token its QR code shows.
type phoneKey struct {
	Credential acs.Credential `json:"credential"`
	Token      string         `json:"token"`
}

func (s *Server) myPhoneKey(ctx context.Context) (phoneKey, error) {
	a := auth.ActorFrom(ctx)
	sc := a.Scope(auth.PermAccessOwn)
	if a.User.PersonID == 0 {
		return phoneKey{}, shequ.Errorf(shequ.ECONFLICT, "your account is not linked to a resident")
	}
	keys, err := s.store.ListCredentials(ctx, sc, acs.CredentialFilter{PersonID: a.User.PersonID})
	if err != nil {
		return phoneKey{}, err
	}
	var key *acs.Credential
	for i := range keys.Items {
		if keys.Items[i].Kind == acs.KindPhone {
			key = &keys.Items[i]
			break
		}
	}
	if key == nil {
		c := acs.Credential{PersonID: a.User.PersonID, Kind: acs.KindPhone, Label: "手机钥匙"}
		if err := s.store.CreateCredential(ctx, sc, &c); err != nil {
			return phoneKey{}, err
		}
		key = &c
	}
	tok, err := s.store.PhoneKeyToken(ctx, sc, key.ID)
	return phoneKey{Credential: *key, Token: tok}, err
}

func (s *Server) createPass(ctx context.Context, b passBody) (passCreated, error) {
	a := auth.ActorFrom(ctx)
	p := acs.Pass{HouseholdID: b.HouseholdID, PersonID: a.User.PersonID, Kind: b.Kind, VisitorName: b.VisitorName, DoorIDs: b.DoorIDs,
		ValidFrom: b.ValidFrom, ValidUntil: b.ValidUntil, Uses: b.Uses}
	if p.HouseholdID == 0 {
		p.HouseholdID = a.HouseholdID
	}
	tok, err := s.store.CreatePass(ctx, a.Scope(auth.PermAccessOwn), &p)
	if err != nil {
		return passCreated{}, err
	}
	return passCreated{ID: p.ID, Token: tok, QRPNGURL: "/api/v1/access/passes/" + strconv.FormatInt(p.ID, 10) + "/qr.png", Pass: p}, nil
}

// --- the webhook for controllers that call out ---

// Webhook headers: the door, the time of signing (Unix seconds) and the
// signature, sha256=<hex HMAC-SHA256 of "<timestamp>.<door>.<body>">, the
// door written in decimal as in its header. The door is signed so that a
// call signed for one door cannot be sent again for another: the secret
// is one for the whole deployment.
const (
	AccessDoorHeader      = "X-Shequ-Door"
	AccessTimeHeader      = "X-Shequ-Timestamp"
	AccessSignatureHeader = "X-Shequ-Signature"
	// AccessWebhookSkew is how far a signature's time may be from ours:
	// an older message is refused, and within it a signature accepted
	// once is refused again (webhookReplays).
	AccessWebhookSkew = 5 * time.Minute
)

// maxWebhookSignatures bounds the signatures a node remembers (some
// 100 bytes each): 131,072 is over 200 calls a second for the 10 minutes
// a signature can live (its timestamp up to AccessWebhookSkew either side
// of ours).
const maxWebhookSignatures = 1 << 17

// SignAccessWebhook is the signature header value of body sent for door at
// ts.
func SignAccessWebhook(secret []byte, ts, door int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(accessWebhookMAC(secret, ts, door, body))
}

func accessWebhookMAC(secret []byte, ts, door int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(door, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// webhookReplays remembers the signatures of webhook calls accepted until
// their timestamp leaves the skew window, after which the time check
// refuses them anyway; so the same signed call is acted on once. It is
// one node's memory: behind a load balancer a call replayed to another
// node within the window is still accepted there. It holds at most max
// signatures; when full, the one closest to leaving the window is
// forgotten first (so only after max genuine calls within the window could
// a replay of that one pass for the rest of its window).
type webhookReplays struct {
	mu    sync.Mutex
	max   int
	seen  map[[sha256.Size]byte]int64 // signature → the last Unix second it is valid
	queue expiryHeap
}

type seenSignature struct {
	mac     [sha256.Size]byte
	expires int64
}

// expiryHeap orders remembered signatures by when they leave the window.
type expiryHeap []seenSignature

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(seenSignature)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newWebhookReplays(max int) *webhookReplays {
	return &webhookReplays{max: max, seen: map[[sha256.Size]byte]int64{}}
}

// take records mac, valid until the Unix second expires, and reports
// false when it is recorded already: a replay. now is the server's clock.
func (r *webhookReplays) take(mac [sha256.Size]byte, expires int64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	drop := func() {
		old := heap.Pop(&r.queue).(seenSignature)
		if e := r.seen[old.mac]; e == old.expires || e == forgotten {
			delete(r.seen, old.mac)
		}
	}
	for len(r.queue) > 0 && r.queue[0].expires < now.Unix() {
		drop()
	}
	e, ok := r.seen[mac]
	if ok && e != forgotten {
		return false
	}
	if ok {
		// Taken again after forget: its queue entry is still there, with
		// the same expiry (the signature covers the timestamp).
		r.seen[mac] = expires
		return true
	}
	for len(r.queue) >= r.max {
		drop()
	}
	r.seen[mac] = expires
	heap.Push(&r.queue, seenSignature{mac: mac, expires: expires})
	return true
}

// forgotten marks in seen a signature let in again whose queue entry is
// still queued.
const forgotten = -1

// forget lets mac in again: its call failed before it changed anything,
// and the controller may send it again as it was.
func (r *webhookReplays) forget(mac [sha256.Size]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[mac]; ok {
		r.seen[mac] = forgotten // its queue entry goes in its time
	}
}

type webhookInput struct {
	Door      int64  `header:"X-Shequ-Door" minimum:"1" doc:"The door's id, in decimal; signed"`
	Timestamp int64  `header:"X-Shequ-Timestamp" doc:"When the call was signed, Unix seconds; within 5 minutes of the server's clock"`
	Signature string `header:"X-Shequ-Signature" doc:"sha256=<hex HMAC-SHA256 of \"<timestamp>.<door>.<body>\" under --access-webhook-secret>"`
	Known     int64  `header:"X-Shequ-Revocations-Version" doc:"Version of the revocation list the controller holds; a newer one comes with the answer"`
	RawBody   []byte
}

// webhookMessage is what a controller posts: type request (with
// credential), an event type (opened, closed, forced, held_open, tamper,
// with at) or offline_decisions (with decisions).
type webhookMessage struct {
	Type       string                `json:"type"`
	ID         string                `json:"id,omitempty"`
	Credential acs.Presented         `json:"credential"`
	At         time.Time             `json:"at,omitzero"`
	Decisions  []acs.OfflineDecision `json:"decisions,omitempty"`
}

type webhookAnswer struct {
	ID          string           `json:"id,omitempty"`
	Granted     *bool            `json:"granted,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	Revocations *acs.Revocations `json:"revocations,omitempty"`
}

func (s *Server) accessWebhook(ctx context.Context, in *webhookInput, replays *webhookReplays) (*itemBody[webhookAnswer], error) {
	if len(s.accessWebhookSecret) == 0 {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "controller webhooks are not accepted: no --access-webhook-secret is set")
	}
	mac := [sha256.Size]byte(accessWebhookMAC(s.accessWebhookSecret, in.Timestamp, in.Door, in.RawBody))
	want := "sha256=" + hex.EncodeToString(mac[:])
	if !hmac.Equal([]byte(strings.ToLower(strings.TrimSpace(in.Signature))), []byte(want)) {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "wrong or missing %s (HMAC-SHA256 of \"<timestamp>.<door>.<body>\")", AccessSignatureHeader)
	}
	now := s.clock.Now()
	if d := now.Sub(time.Unix(in.Timestamp, 0)); d > AccessWebhookSkew || d < -AccessWebhookSkew {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "%s is too far from now", AccessTimeHeader)
	}
	if !replays.take(mac, in.Timestamp+int64(AccessWebhookSkew/time.Second), now) {
		return nil, shequ.Errorf(shequ.ECONFLICT, "this signed call was received already: sign each call afresh")
	}
	// Until the call has acted, it may come again as it was (a retry
	// after an error); once it has, it is spent.
	acted := false
	defer func() {
		if !acted {
			replays.forget(mac)
		}
	}()
	var m webhookMessage
	dec := json.NewDecoder(bytes.NewReader(in.RawBody))
	if err := dec.Decode(&m); err != nil {
		return nil, shequ.Invalid(map[string]string{"body": "not JSON: " + err.Error()})
	}
	door, err := s.store.Door(ctx, auth.Scope{{}}, in.Door)
	if err != nil {
		return nil, err
	}
	var out webhookAnswer
	switch m.Type {
	case "request":
		d, err := s.store.Decide(ctx, door.ID, m.Credential, "webhook")
		if err != nil {
			return nil, err
		}
		out.ID, out.Granted, out.Reason = m.ID, &d.Granted, d.Reason
	case "offline_decisions":
		if err := s.store.RecordOfflineDecisions(ctx, door.ID, m.Decisions, "webhook"); err != nil {
			return nil, err
		}
	default:
		if _, err := s.store.RecordDoorEvent(ctx, door.ID, m.Type, m.At, "webhook"); err != nil {
			return nil, err
		}
	}
	acted = true
	r, err := s.store.AccessRevocations(ctx, door.CommunityID)
	if err != nil {
		return nil, err
	}
	if r.Version > in.Known {
		out.Revocations = &r
	}
	return &itemBody[webhookAnswer]{Body: out}, nil
}

// doorsByID indexes doors for pages.
func doorsByID(ds []acs.Door) map[int64]acs.Door {
	out := make(map[int64]acs.Door, len(ds))
	for _, d := range ds {
		out[d.ID] = d
	}
	return out
}
