package access

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestDecide(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	// Wednesday 2 December 2026, 07:00 in Shanghai.
	morning := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	entranceA := Door{ID: 1, BuildingID: 10, Kind: DoorEntrance}
	entranceB := Door{ID: 2, BuildingID: 20, Kind: DoorEntrance}
	gate := Door{ID: 3, Kind: DoorGate}
	resident := Subject{Found: true, Role: RoleResident, BuildingID: 10}
	pass := Subject{Found: true, Kind: KindPass, Doors: []int64{1, 3}, ValidFrom: morning.Add(-time.Hour), ValidUntil: morning.Add(time.Hour), Uses: 2, Used: 1}
	for _, tc := range []struct {
		name string
		door Door
		sub  Subject
		now  time.Time
		want Decision
	}{
		{"unknown", entranceA, Subject{}, morning, Decision{Reason: ReasonUnknown}},
		{"resident at own entrance", entranceA, resident, morning, Decision{true, ReasonGranted}},
		{"resident at the gate", gate, resident, morning, Decision{true, ReasonGranted}},
		{"resident at another building", entranceB, resident, morning, Decision{Reason: ReasonWrongDoor}},
		{"revoked resident", entranceA, Subject{Found: true, Role: RoleResident, BuildingID: 10, Revoked: true}, morning, Decision{Reason: ReasonRevoked}},
		{"cleaner in hours", entranceB, Subject{Found: true, Role: RoleCleaner}, morning, Decision{true, ReasonGranted}},
		{"cleaner at noon", entranceB, Subject{Found: true, Role: RoleCleaner}, morning.Add(5 * time.Hour), Decision{Reason: ReasonSchedule}},
		{"cleaner on Sunday", entranceB, Subject{Found: true, Role: RoleCleaner}, morning.Add(4 * 24 * time.Hour), Decision{Reason: ReasonSchedule}},
		{"staff at night", entranceB, Subject{Found: true, Role: RoleStaff}, morning.Add(15 * time.Hour), Decision{true, ReasonGranted}},
		{"pass at a named door", entranceA, pass, morning, Decision{true, ReasonGranted}},
		{"pass at another door", entranceB, pass, morning, Decision{Reason: ReasonWrongDoor}},
		{"pass before its window", gate, pass, morning.Add(-2 * time.Hour), Decision{Reason: ReasonNotYet}},
		{"pass at its end", gate, pass, morning.Add(time.Hour), Decision{Reason: ReasonExpired}},
		{"pass used up", gate, Subject{Found: true, Doors: []int64{3}, Uses: 1, Used: 1}, morning, Decision{Reason: ReasonUsedUp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.door, tc.sub, tc.now, shanghai); got != tc.want {
				t.Errorf("Decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTokenRoundTrip(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	from := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tok := Token{Kind: KindPass, Serial: 1<<61 + 5, CommunityID: 7, NotBefore: from, NotAfter: from.Add(30 * time.Minute), Uses: 1, Doors: []int64{11, 12}}
	s, err := tok.Sign(priv)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) > 200 {
		t.Errorf("token of %d characters: too long for a small QR code", len(s))
	}
	got, err := ParseToken(s, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != tok.Serial || got.CommunityID != 7 || !got.NotBefore.Equal(from) || !got.NotAfter.Equal(tok.NotAfter) || got.Uses != 1 || !slices.Equal(got.Doors, tok.Doors) || got.Kind != KindPass {
		t.Errorf("parsed %+v, signed %+v", got, tok)
	}
	if serial, kind, ok := PeekSerial(s); !ok || serial != tok.Serial || kind != KindPass {
		t.Errorf("PeekSerial = %d %s %v", serial, kind, ok)
	}
	if _, err := ParseToken(s, otherPub); !errors.Is(err, ErrTokenSignature) {
		t.Errorf("another key: %v", err)
	}
	// Change one door: the signature no longer holds.
	raw, _ := tokenEncoding.DecodeString(s)
	raw[tokenHead+3] ^= 1
	if _, err := ParseToken(tokenEncoding.EncodeToString(raw), pub); !errors.Is(err, ErrTokenSignature) {
		t.Errorf("tampered token: %v", err)
	}
	for _, bad := range []string{"", "not base32!", s[:20]} {
		if _, err := ParseToken(bad, pub); !errors.Is(err, ErrTokenMalformed) {
			t.Errorf("ParseToken(%q) = %v", bad, err)
		}
	}
}

func TestPassDefaults(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	courier := Pass{Kind: PassCourier, DoorIDs: []int64{1}}
	if err := courier.Validate(now); err != nil {
		t.Fatal(err)
	}
	if courier.Uses != 1 || courier.ValidUntil.Sub(courier.ValidFrom) != CourierDuration {
		t.Errorf("courier pass %+v", courier)
	}
	long := Pass{DoorIDs: []int64{1}, ValidFrom: now, ValidUntil: now.Add(8 * 24 * time.Hour)}
	if err := long.Validate(now); err == nil {
		t.Error("an 8-day pass was accepted")
	}
	none := Pass{}
	if err := none.Validate(now); err == nil {
		t.Error("a pass without doors was accepted")
	}
}

func TestCredentialValidate(t *testing.T) {
	for _, tc := range []struct {
		c  Credential
		ok bool
	}{
		{Credential{Kind: KindCard, PersonID: 1, Value: "04:a2:2b:9c"}, true},
		{Credential{Kind: KindCard, PersonID: 1, Value: "zz"}, false},
		{Credential{Kind: KindPIN, PersonID: 1, Value: "123456"}, true},
		{Credential{Kind: KindPIN, PersonID: 1, Value: "12ab56"}, false},
		{Credential{Kind: KindPhone, PersonID: 1}, true},
		{Credential{Kind: KindPhone}, false},
		{Credential{Kind: KindCard, Role: RoleCleaner, UserID: 3, Value: "ABCDEF12"}, true},
	} {
		err := tc.c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.c, err)
		}
	}
	c := Credential{Kind: KindCard, PersonID: 1, Value: "04:a2:2b:9c"}
	_ = c.Validate()
	if c.Value != "04A22B9C" || Hint(c.Kind, c.Value) != "…2B9C" {
		t.Errorf("normalised %q hint %q", c.Value, Hint(c.Kind, c.Value))
	}
}

func TestCheckPassDoors(t *testing.T) {
	doors := []Door{
		{ID: 1, BuildingID: 10, Kind: DoorEntrance},
		{ID: 2, BuildingID: 20, Kind: DoorEntrance},
		{ID: 3, Kind: DoorGate},
		{ID: 4, Kind: DoorShed},
	}
	for _, tc := range []struct {
		name    string
		ids     []int64
		anyDoor bool
		refused string // what the problem says; "" when the doors are fine
	}{
		{"own entrance, gate, shed", []int64{1, 3, 4}, false, ""},
		{"another building's entrance", []int64{3, 2}, false, "door 2 (B) is not one the household opens"},
		{"staff: another building's entrance", []int64{2}, true, ""},
		{"not in the community", []int64{1, 9}, false, "door 9 is not in this community"},
		{"staff: not in the community", []int64{9}, true, "door 9 is not in this community"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			named := slices.Clone(doors)
			named[1].Name = "B"
			err := CheckPassDoors(named, tc.ids, 10, tc.anyDoor)
			var e *shequ.Error
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refused != "" && (!errors.As(err, &e) || e.Code != shequ.EINVALID || !strings.HasPrefix(e.Fields["door_ids"], tc.refused)):
				t.Errorf("got %v (%+v), want a problem starting %q", err, e, tc.refused)
			}
		})
	}
	// The rule is Decide's for residents' own credentials.
	resident := Subject{Found: true, Role: RoleResident, BuildingID: 10}
	for _, d := range doors {
		if got := Decide(d, resident, time.Now(), nil).Granted; got != ResidentOpens(d, 10) {
			t.Errorf("door %d: Decide grants %v, ResidentOpens says %v", d.ID, got, !got)
		}
	}
	if got := ResidentDoors(doors, 10, true); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("route %v", got)
	}
}
