package alarm

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestIncidentAppendJSONIsMarshal: AppendJSON gives encoding/json's bytes
// for incidents of every shape: each optional field present or not,
// strings with what encoding/json escapes, times in several zones with and
// without nanoseconds.
func TestIncidentAppendJSONIsMarshal(t *testing.T) {
	strs := []string{"", "burglary in zone 3", "入侵报警 3号楼", `quote " and \ backslash`, "<script>&amp;</script>",
		"tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f", "bad utf-8 \xff\xfe end", "\xe2\x80", "sep\u2028para\u2029",
		"emoji 🚨 and é", "/slash/ 'single'"}
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	rnd := rand.New(rand.NewPCG(1, 2))
	str := func() string { return strs[rnd.IntN(len(strs))] }
	id := func() int64 {
		switch rnd.IntN(3) {
		case 0:
			return 0
		case 1:
			return rnd.Int64N(1000) - 500
		}
		return rnd.Int64()
	}
	at := func() time.Time {
		t := time.Date(2000+rnd.IntN(60), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), 0, zones[rnd.IntN(len(zones))])
		switch rnd.IntN(3) {
		case 1:
			t = t.Add(time.Duration(rnd.IntN(1e9)))
		case 2:
			t = t.Add(time.Duration(rnd.IntN(1000)) * time.Millisecond)
		}
		return t
	}
	ptr := func() *time.Time {
		if rnd.IntN(2) == 0 {
			return nil
		}
		t := at()
		return &t
	}
	kinds := []Kind{KindBurglary, KindFire, KindPanic, KindMedical, Kind(str())}
	incidents := []*Incident{
		{},
		{ID: 1, CommunityID: 1, HomeID: 7, PanelID: 3, Kind: KindBurglary, Priority: 1, Status: StatusNew, Title: "Burglary",
			Kinds: []Kind{KindBurglary}, OpenedAt: time.Now(), LastEventAt: time.Now(), EventCount: 12},
		{ID: 2, Kinds: []Kind{}, OpenedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{ID: 3, OpenedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // encoding/json refuses it
	}
	for range 2000 {
		i := &Incident{ID: id(), CommunityID: id(), HomeID: id(), PanelID: id(), Kind: kinds[rnd.IntN(len(kinds))],
			Priority: Priority(rnd.IntN(5) - 1), Status: str(), Title: str(), OpenedAt: at(), LastEventAt: at(), EventCount: rnd.IntN(100000),
			AckAt: ptr(), AckBy: id(), DispatchedAt: ptr(), DispatchedTo: id(), AcceptedAt: ptr(), ArrivedAt: ptr(), ResolvedAt: ptr(),
			ResolvedBy: id(), Resolution: str(), Notes: str(), BuildingName: str(), Door: str(), Floor: int(id() % 100), GridID: id()}
		for range rnd.IntN(4) {
			i.Kinds = append(i.Kinds, kinds[rnd.IntN(len(kinds))])
		}
		incidents = append(incidents, i)
	}
	for _, i := range incidents {
		want, err := json.Marshal(i)
		if err != nil {
			want = []byte("null")
		}
		got := i.AppendJSON([]byte("prefix"))
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("incident %+v:\n got %s\nwant prefix%s", i, got, want)
		}
	}
}

// TestIncidentAppendJSONHasEveryField: an incident with every field set,
// by reflection, so that a field added to Incident and not to AppendJSON
// fails here rather than vanish from the live stream (the random incidents
// above set only the fields they name).
func TestIncidentAppendJSONHasEveryField(t *testing.T) {
	var i Incident
	v := reflect.ValueOf(&i).Elem()
	at := time.Date(2026, 12, 7, 2, 30, 0, 0, time.UTC)
	for k := range v.NumField() {
		f := v.Field(k)
		switch {
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(at))
		case f.Type() == reflect.TypeOf(&time.Time{}):
			f.Set(reflect.ValueOf(&at))
		case f.Kind() == reflect.String:
			f.SetString("入侵 <x>")
		case f.Kind() == reflect.Int, f.Kind() == reflect.Int64:
			f.SetInt(7)
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, 1), reflect.ValueOf("fire").Convert(f.Type().Elem())))
		default:
			t.Fatalf("field %s of type %s: set it here, and write it in AppendJSON", v.Type().Field(k).Name, f.Type())
		}
	}
	want, err := json.Marshal(i)
	if err != nil {
		t.Fatal(err)
	}
	if got := i.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
