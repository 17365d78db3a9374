package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// idCheck is the check character of the first 17 of an ID number.
func idCheck(s17 string) byte {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(s17[i]-'0') * w[i]
	}
	return "10X98765432"[sum%11]
}

// TestMaskedReadersCannotRecoverNumbers: an association chair, who sees ID
// and phone numbers masked, recovered them whole (found in review): the
// masked ID number keeps its first and last 4 characters and the birth
// date, answered whole, is characters 7 to 14 of it, and the people search
// told whether a whole candidate number was the resident's: the ID number
// in 2 requests, the phone in at most 10,000. Now the chair sees the year
// of birth only (and the age, on the pages), and the search finds by name
// only; the director, who sees numbers whole, still finds by number, each
// such find audited.
func TestMaskedReadersCannotRecoverNumbers(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	const chair = "assoc-jiuye" // people.read without people.pii
	var l struct{ Items []community.Person }
	if st := e.do(chair, http.MethodGet, "/api/v1/people?limit=50", nil, &l); st != http.StatusOK || len(l.Items) == 0 {
		t.Fatalf("list: %d", st)
	}
	var target community.Person
	for _, p := range l.Items {
		if len(p.IDNumber) == 18 && p.BirthDate != "" && len(p.Phone) == 11 {
			target = p
			break
		}
	}
	if target.ID == 0 {
		t.Fatal("no person with an ID number, birth date and phone")
	}
	var whole community.Person
	if st := e.do("director", http.MethodGet, fmt.Sprintf("/api/v1/people/%d", target.ID), nil, &whole); st != http.StatusOK || whole.Masked {
		t.Fatalf("director reads person %d: %d, masked %v", target.ID, st, whole.Masked)
	}

	// What the chair is shown holds no more of the ID number than its ends.
	shown, _ := json.Marshal(target)
	middle := whole.IDNumber[6:14]
	if strings.Contains(string(shown), middle) || strings.Contains(string(shown), whole.BirthDate) {
		t.Errorf("%s is shown the birth date %s (characters 7-14 of the ID number): %s", chair, whole.BirthDate, shown)
	}
	if want := whole.BirthDate[:4] + "-**-**"; target.BirthDate != want || !target.Masked {
		t.Errorf("%s sees birth date %q, want %q", chair, target.BirthDate, want)
	}

	found := func(who, q string) bool {
		t.Helper()
		var r struct{ Items []community.Person }
		if st := e.do(who, http.MethodGet, "/api/v1/people?limit=5&q="+url.QueryEscape(q), nil, &r); st != http.StatusOK {
			t.Fatalf("%s searches: %d", who, st)
		}
		for _, p := range r.Items {
			if p.ID == target.ID {
				return true
			}
		}
		return false
	}
	// The attack of the review, with what the chair is shown: the birth
	// date, when it was whole, left two digits to guess.
	head, tail := target.IDNumber[:4], target.IDNumber[14:]
	if birth := strings.ReplaceAll(target.BirthDate, "-", ""); len(birth) == 8 && !strings.Contains(birth, "*") {
		for d := range 100 {
			cand := fmt.Sprintf("%s%02d%s%s", head, d, birth, tail)
			if idCheck(cand[:17]) == cand[17] && found(chair, cand) {
				t.Errorf("%s recovered the whole ID number %s by searching", chair, cand)
				break
			}
		}
	}
	// However found, a whole number does not confirm itself to the chair.
	for _, q := range []string{whole.IDNumber, whole.Phone} {
		if found(chair, q) {
			t.Errorf("%s is told that %s is the number of person %d", chair, q, target.ID)
		}
	}
	if !found(chair, whole.Name) {
		t.Errorf("%s no longer finds person %d by name", chair, target.ID)
	}

	// The director finds by number, audited as a read of the numbers.
	before := e.auditTotal("person.read_pii")
	if !found("director", whole.Phone) {
		t.Errorf("the director does not find person %d by phone", target.ID)
	}
	if got := e.auditTotal("person.read_pii"); got != before+1 {
		t.Errorf("a search by number audited %d reads, want 1", got-before)
	}

	// The pages show the chair the age, as before, and no birth date.
	age := whole.Age(e.clock.Now())
	r := e.pageAs(chair, "/people?q="+url.QueryEscape(whole.Name))
	if r.status != http.StatusOK || !strings.Contains(r.body, ">"+strconv.Itoa(age)+"<") || strings.Contains(r.body, whole.BirthDate) {
		t.Errorf("people page of %s: %d, age %d shown %v", chair, r.status, age, strings.Contains(r.body, ">"+strconv.Itoa(age)+"<"))
	}
	if !strings.Contains(r.body, "姓名的一部分<") {
		t.Errorf("the page tells %s it finds people by number", chair)
	}
}
