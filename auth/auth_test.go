package auth

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScope(t *testing.T) {
	tests := []struct {
		name  string
		actor Actor
		perm  Permission
		want  Scope
	}{
		{"deployment admin", Actor{User: User{Grants: []Grant{{Role: RoleAdmin}}}}, PermAuditRead, Scope{{}}},
		{"community operator", Actor{User: User{Grants: []Grant{{Role: RoleOperator, CommunityID: 3}}}}, PermPeopleRead, Scope{{CommunityID: 3}}},
		{"operator may not manage users", Actor{User: User{Grants: []Grant{{Role: RoleOperator, CommunityID: 3}}}}, PermUsersManage, nil},
		{"grid worker narrowed to the grid", Actor{User: User{Grants: []Grant{{Role: RoleGridWorker, CommunityID: 3, GridID: 7}}}}, PermHomesRead, Scope{{CommunityID: 3, GridID: 7}}},
		{"resident narrowed to the household", Actor{HouseholdID: 9, User: User{Grants: []Grant{{Role: RoleResident, CommunityID: 3}}}}, PermPeopleRead, Scope{{CommunityID: 3, HouseholdID: 9}}},
		{"resident without a home reaches nothing", Actor{User: User{Grants: []Grant{{Role: RoleResident, CommunityID: 3}}}}, PermPeopleRead, nil},
		{"only admins may hold the whole deployment", Actor{User: User{Grants: []Grant{{Role: RoleOperator}}}}, PermPeopleRead, nil},
		{"two communities", Actor{User: User{Grants: []Grant{{Role: RoleOperator, CommunityID: 1}, {Role: RolePolice, CommunityID: 2}}}}, PermDevicesRead, Scope{{CommunityID: 1}, {CommunityID: 2}}},
		{"nobody", Actor{}, PermCommunitiesRead, nil},
	}
	for _, tt := range tests {
		if got := tt.actor.Scope(tt.perm); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	var none *Actor
	if none.Scope(PermCommunitiesRead) != nil {
		t.Error("a nil actor reaches something")
	}
}

func TestScopeHelpers(t *testing.T) {
	s := Scope{{CommunityID: 1}, {CommunityID: 2, GridID: 5}}
	if !s.WholeCommunity(1) || s.WholeCommunity(2) || s.WholeCommunity(3) {
		t.Error("WholeCommunity")
	}
	if got := s.Communities(); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("Communities %v", got)
	}
	if got := s.Restrict(2); !slices.Equal(got, Scope{{CommunityID: 2, GridID: 5}}) {
		t.Errorf("Restrict %v", got)
	}
	if got := (Scope{{}}).Restrict(4); !slices.Equal(got, Scope{{CommunityID: 4}}) {
		t.Errorf("Restrict of everything %v", got)
	}
}

func TestEveryRoleHasPermissions(t *testing.T) {
	for _, r := range Roles {
		if len(PermissionsOf(r)) == 0 {
			t.Errorf("role %s can do nothing", r)
		}
	}
}

func TestPasswords(t *testing.T) {
	if _, err := HashPassword("short"); err == nil {
		t.Error("a short password was accepted")
	}
	h, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyPassword(h, "a long enough password") || VerifyPassword(h, "a long enough passworD") {
		t.Error("verify")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", h[:len(h)-3] + "!!!"} {
		if VerifyPassword(bad, "a long enough password") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
	if NeedsRehash(h) {
		t.Error("a hash made today needs hashing again")
	}
	for hash, want := range map[string]bool{
		"$argon2id$v=19$m=65536,t=3,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43): true,  // earlier versions
		"$argon2id$v=19$m=19456,t=3,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43): true,  // more passes
		"$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43):     false, // cheaper (tests)
		"not a hash": false,
	} {
		if got := NeedsRehash(hash); got != want {
			t.Errorf("NeedsRehash(%.30q) = %v, want %v", hash, got, want)
		}
	}
	if t1, t2 := NewToken(), NewToken(); HashToken("a") == HashToken("b") || t1 == t2 {
		t.Error("tokens")
	}
}

func TestDelay(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {FreeFailures - 1, 0}, {FreeFailures, FirstDelay}, {FreeFailures + 1, 2 * FirstDelay},
		{FreeFailures + 3, 8 * FirstDelay}, {FreeFailures + 20, MaxDelay}, {FreeFailures + 100, MaxDelay},
	} {
		if got := Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestAdmit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	full := Attempts{}
	empty := Attempts{Tokens: 0.5, At: now}
	tests := []struct {
		name          string
		pair, account Attempts
		at            time.Time
		want          bool
		retry         time.Time
	}{
		{"first attempt", Attempts{}, full, now, true, time.Time{}},
		{"free failures", Attempts{Failures: FreeFailures - 1, At: now}, full, now, true, time.Time{}},
		{"one too many at once", Attempts{Failures: FreeFailures, At: now}, full, now, false, now.Add(FirstDelay)},
		{"after the delay", Attempts{Failures: FreeFailures, At: now}, full, now.Add(FirstDelay), true, time.Time{}},
		{"the delay doubles", Attempts{Failures: FreeFailures + 1, At: now}, full, now.Add(FirstDelay), false, now.Add(2 * FirstDelay)},
		{"failures long ago are forgotten", Attempts{Failures: 50, At: now}, full, now.Add(ForgetFailures + time.Second), true, time.Time{}},
		{"the account's budget is spent", Attempts{}, empty, now, false, now.Add(AccountRefill / 2)},
		{"it refills", Attempts{}, empty, now.Add(AccountRefill / 2), true, time.Time{}},
		{"a trusted address passes a spent budget", Attempts{SucceededAt: now.Add(-time.Hour)}, empty, now, true, time.Time{}},
		{"trust wears off", Attempts{SucceededAt: now.Add(-TrustedFor)}, empty, now, false, now.Add(AccountRefill / 2)},
		{"a trusted address is still slowed", Attempts{Failures: FreeFailures, At: now, SucceededAt: now.Add(-time.Hour)}, full, now, false, now.Add(FirstDelay)},
	}
	for _, tt := range tests {
		pair, account := tt.pair, tt.account
		ok, retry := Admit(&pair, &account, tt.at)
		if ok != tt.want || !retry.Equal(tt.retry) {
			t.Errorf("%s: Admit = %v, %v; want %v, %v", tt.name, ok, retry, tt.want, tt.retry)
			continue
		}
		if !ok && (pair != tt.pair || account != tt.account) {
			t.Errorf("%s: a refused attempt changed the counts", tt.name)
		}
		if ok && (pair.Failures < 1 || account.Tokens > AccountBurst-1 && tt.account.At.IsZero()) {
			t.Errorf("%s: the attempt was not counted: %+v %+v", tt.name, pair, account)
		}
	}
	// The budget lets AccountBurst guesses in at once, from as many
	// addresses, and no more.
	var account Attempts
	n := 0
	for i := 0; i < 3*AccountBurst; i++ {
		var pair Attempts
		if ok, _ := Admit(&pair, &account, now); ok {
			n++
		}
	}
	if n != AccountBurst {
		t.Errorf("%d guesses at once, want %d", n, AccountBurst)
	}
	// A right password gives its guess back.
	pair := Attempts{Failures: 2}
	Succeeded(&pair, &account, now)
	if pair.Failures != 0 || !pair.SucceededAt.Equal(now) || account.Tokens != 1 {
		t.Errorf("after success %+v %+v", pair, account)
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(3, 10*time.Second)
	for i := 0; i < 3; i++ {
		if !l.Allow("a", now) {
			t.Fatalf("try %d refused", i)
		}
	}
	if l.Allow("a", now) {
		t.Error("fourth try at once allowed")
	}
	if !l.Allow("b", now) {
		t.Error("another address was limited")
	}
	if !l.Allow("a", now.Add(10*time.Second)) || l.Allow("a", now.Add(10*time.Second)) {
		t.Error("refill is not one per period")
	}
}
