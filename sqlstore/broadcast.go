package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/media"
)

// The loudspeakers' programme. Every broadcast row belongs to a community
// and is reached through it: a grid grant does not narrow the programme
// (a zone may span grids). Lists of ids, days and items are JSON columns.

var (
	broadcastZones = table{what: "zone", from: "broadcast_zones z", id: "z.id", scope: scopeCols{community: "z.community_id"},
		order: "z.community_id, z.code", columns: "z.id, z.community_id, z.code, z.name, z.speaker_ids, z.created_at"}
	broadcastSlots = table{what: "slot", from: "broadcast_slots s", id: "s.id", scope: scopeCols{community: "s.community_id"},
		order:   "s.community_id, s.start_hm, s.id",
		columns: "s.id, s.community_id, s.name, s.zone_ids, s.days, s.start_hm, s.minutes, s.date_from, s.date_until, s.exceptions, s.flag, s.created_at"}
	broadcastTracks = table{what: "track", from: "broadcast_tracks t JOIN media m ON m.id = t.media_id", id: "t.id", scope: scopeCols{community: "t.community_id"},
		order: "t.title, t.id", columns: "t.id, t.community_id, t.media_id, t.title, t.artist, t.seconds, t.lufs, m.content_type, m.size, m.sha256, t.created_at"}
	broadcastAsRun = table{what: "as-run entry", from: "broadcast_asrun r", id: "r.id", scope: scopeCols{community: "r.community_id"},
		order: "r.started_at DESC, r.id DESC", columns: "r.id, r.community_id, r.zone_id, r.slot_id, r.emergency_id, r.kind, r.status, r.started_at, r.seconds, r.detail, r.listeners"}
)

func scanZone(r scanner) (broadcast.Zone, error) {
	var z broadcast.Zone
	var speakers string
	if err := r.Scan(&z.ID, &z.CommunityID, &z.Code, &z.Name, &speakers, &z.CreatedAt); err != nil {
		return z, err
	}
	z.CreatedAt = z.CreatedAt.UTC()
	return z, json.Unmarshal([]byte(speakers), &z.SpeakerIDs)
}

func scanSlot(r scanner) (broadcast.Slot, error) {
	var s broadcast.Slot
	var zones, days, exceptions string
	if err := r.Scan(&s.ID, &s.CommunityID, &s.Name, &zones, &days, &s.Start, &s.Minutes, &s.From, &s.Until, &exceptions, &s.Flag, &s.CreatedAt); err != nil {
		return s, err
	}
	s.CreatedAt = s.CreatedAt.UTC()
	for _, f := range []struct {
		text string
		to   any
	}{{zones, &s.ZoneIDs}, {days, &s.Days}, {exceptions, &s.Exceptions}} {
		if err := json.Unmarshal([]byte(f.text), f.to); err != nil {
			return s, err
		}
	}
	return s, nil
}

func scanTrack(r scanner) (broadcast.Track, error) {
	var t broadcast.Track
	err := r.Scan(&t.ID, &t.CommunityID, &t.MediaID, &t.Title, &t.Artist, &t.Seconds, &t.LUFS, &t.ContentType, &t.Size, &t.SHA256, &t.CreatedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

func scanAsRun(r scanner) (broadcast.AsRun, error) {
	var a broadcast.AsRun
	var slot, em sql.NullInt64
	err := r.Scan(&a.ID, &a.CommunityID, &a.ZoneID, &slot, &em, &a.Kind, &a.Status, &a.StartedAt, &a.Seconds, &a.Detail, &a.Listeners)
	a.SlotID, a.EmergencyID, a.StartedAt = slot.Int64, em.Int64, a.StartedAt.UTC()
	return a, err
}

// communityFilter returns the condition keeping one community's rows, or
// none for 0.
func communityFilter(col string, c int64, a *args) []string {
	if c == 0 {
		return nil
	}
	return []string{col + " = " + a.add(c)}
}

// ListZones lists the zones of the communities scope reaches.
func (s *Store) ListZones(ctx context.Context, scope auth.Scope, communityID int64, page shequ.Page) (shequ.List[broadcast.Zone], error) {
	var a args
	return listOf(ctx, s.reader(), broadcastZones, scope, communityFilter("z.community_id", communityID, &a), a, page, scanZone)
}

// Zone returns one zone.
func (s *Store) Zone(ctx context.Context, scope auth.Scope, id int64) (broadcast.Zone, error) {
	return oneOf(ctx, s.reader(), broadcastZones, scope, id, scanZone)
}

// ZoneByCode returns the zone with code. With community 0 the code must
// name one zone in the whole deployment.
func (s *Store) ZoneByCode(ctx context.Context, communityID int64, code string) (broadcast.Zone, error) {
	var a args
	conds := append([]string{"z.code = " + a.add(code)}, communityFilter("z.community_id", communityID, &a)...)
	l, err := listOf(ctx, s.reader(), broadcastZones, auth.Scope{{}}, conds, a, shequ.Page{Limit: 2}, scanZone)
	switch {
	case err != nil:
		return broadcast.Zone{}, err
	case l.Total == 0:
		return broadcast.Zone{}, shequ.Errorf(shequ.ENOTFOUND, "zone %q not found", code)
	case l.Total > 1:
		return broadcast.Zone{}, shequ.Errorf(shequ.EINVALID, "zone %q is in several communities: name the community", code)
	}
	return l.Items[0], nil
}

// CreateZone adds a zone; its speakers must be speakers of its community.
func (s *Store) CreateZone(ctx context.Context, scope auth.Scope, z *broadcast.Zone) error {
	if err := z.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, z.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkSpeakers(ctx, tx, z.CommunityID, z.SpeakerIDs); err != nil {
			return err
		}
		z.CreatedAt = s.now()
		id, err := insert(ctx, tx, "INSERT INTO broadcast_zones (community_id, code, name, speaker_ids, created_at) VALUES ($1, $2, $3, $4, $5)",
			z.CommunityID, z.Code, z.Name, jsonText(z.SpeakerIDs), z.CreatedAt)
		if err != nil {
			return err
		}
		z.ID = id
		return s.change(ctx, tx, z.CommunityID, "create", "broadcast_zone", id, nil, z)
	})
}

func checkSpeakers(ctx context.Context, q querier, c int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var a args
	n, err := count(ctx, q, "SELECT COUNT(*) FROM devices WHERE community_id = "+a.add(c)+" AND kind = "+a.add(community.DeviceSpeaker)+
		" AND id IN "+inList(&a, ids), a...)
	if err != nil {
		return err
	}
	if n != len(ids) {
		return shequ.Invalid(map[string]string{"speaker_ids": "must be loudspeakers registered in the community"})
	}
	return nil
}

func checkZones(ctx context.Context, q querier, c int64, ids []int64) error {
	var a args
	n, err := count(ctx, q, "SELECT COUNT(*) FROM broadcast_zones WHERE community_id = "+a.add(c)+" AND id IN "+inList(&a, ids), a...)
	if err != nil {
		return err
	}
	if n != len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
		return shequ.Invalid(map[string]string{"zone_ids": "must be zones of the community"})
	}
	return nil
}

// ListSlots lists the slots of the communities scope reaches.
func (s *Store) ListSlots(ctx context.Context, scope auth.Scope, communityID int64, page shequ.Page) (shequ.List[broadcast.Slot], error) {
	var a args
	return listOf(ctx, s.reader(), broadcastSlots, scope, communityFilter("s.community_id", communityID, &a), a, page, scanSlot)
}

// Slot returns one slot.
func (s *Store) Slot(ctx context.Context, scope auth.Scope, id int64) (broadcast.Slot, error) {
	return oneOf(ctx, s.reader(), broadcastSlots, scope, id, scanSlot)
}

// CreateSlot adds a slot on zones of its community.
func (s *Store) CreateSlot(ctx context.Context, scope auth.Scope, x *broadcast.Slot) error {
	if err := x.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, x.CommunityID); err != nil {
		return err
	}
	if x.Exceptions == nil {
		x.Exceptions = []broadcast.Exception{}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkZones(ctx, tx, x.CommunityID, x.ZoneIDs); err != nil {
			return err
		}
		if err := s.checkSlotFree(ctx, tx, x); err != nil {
			return err
		}
		x.CreatedAt, x.Flag = s.now(), ""
		id, err := insert(ctx, tx, `INSERT INTO broadcast_slots (community_id, name, zone_ids, days, start_hm, minutes, date_from, date_until, exceptions, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			x.CommunityID, x.Name, jsonText(x.ZoneIDs), jsonText(x.Days), x.Start, x.Minutes, x.From, x.Until, jsonText(x.Exceptions), x.CreatedAt)
		if err != nil {
			return err
		}
		x.ID = id
		return s.change(ctx, tx, x.CommunityID, "create", "broadcast_slot", id, nil, x)
	})
}

// checkSlotFree refuses x if it overlaps another slot of its community
// (see Slot.Overlaps). On PostgreSQL the rows of x's zones are locked
// first, in id order, so that two writes putting slots on a shared zone
// run one after the other and the second sees the first; SQLite's write
// transactions run one at a time already.
func (s *Store) checkSlotFree(ctx context.Context, tx *sql.Tx, x *broadcast.Slot) error {
	for _, z := range slices.Compact(slices.Sorted(slices.Values(x.ZoneIDs))) {
		if err := s.lockRow(ctx, tx, "broadcast_zones", z); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+broadcastSlots.columns+" FROM broadcast_slots s WHERE s.community_id = $1 AND s.id <> $2 ORDER BY s.id",
		x.CommunityID, x.ID)
	if err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanSlot(rows)
		if err != nil {
			return err
		}
		if x.Overlaps(o) {
			return shequ.Errorf(shequ.ECONFLICT, "the slot overlaps slot %d (%q, %s for %d minutes, days %v) on a zone they share", o.ID, o.Name, o.Start, o.Minutes, o.Days)
		}
	}
	return rows.Err()
}

// FlagSlot sets (or with "" clears) what is wrong with a slot's next
// airing, as the scheduler finds it: a slot that cannot be rendered is
// flagged rather than silently dropped.
func (s *Store) FlagSlot(ctx context.Context, id int64, flag string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		var old string
		if err := tx.QueryRowContext(ctx, "SELECT community_id, flag FROM broadcast_slots WHERE id = $1", id).Scan(&c, &old); err == sql.ErrNoRows {
			return notFound("slot", id)
		} else if err != nil {
			return err
		}
		if old == flag {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_slots SET flag = $1 WHERE id = $2", flag, id); err != nil {
			return err
		}
		return s.change(ctx, tx, c, "flag", "broadcast_slot", id, map[string]string{"flag": old}, map[string]string{"flag": flag})
	})
}

// Rundown returns what a slot plays.
func (s *Store) Rundown(ctx context.Context, scope auth.Scope, slotID int64) (broadcast.Rundown, error) {
	return readRundown(ctx, s.reader(), scope, slotID)
}

func readRundown(ctx context.Context, q querier, scope auth.Scope, slotID int64) (broadcast.Rundown, error) {
	var a args
	var items string
	var at sql.NullTime
	err := q.QueryRowContext(ctx, "SELECT s.items, s.items_at FROM broadcast_slots s WHERE s.id = "+a.add(slotID)+" AND "+
		scopeWhere(scope, broadcastSlots.scope, &a), a...).Scan(&items, &at)
	if err == sql.ErrNoRows {
		return broadcast.Rundown{}, notFound("slot", slotID)
	} else if err != nil {
		return broadcast.Rundown{}, fmt.Errorf("rundown %d: %w", slotID, err)
	}
	r := broadcast.Rundown{SlotID: slotID, UpdatedAt: timeOrZero(at)}
	return r, json.Unmarshal([]byte(items), &r.Items)
}

// SetRundown replaces what a slot plays; the clips and songs it names must
// be the community's.
func (s *Store) SetRundown(ctx context.Context, scope auth.Scope, r *broadcast.Rundown) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := readRundown(ctx, tx, scope, r.SlotID)
		if err != nil {
			return err
		}
		return s.writeRundown(ctx, tx, r, before)
	})
}

// writeRundown checks that what r names is the slot community's and
// stores it, audited against before.
func (s *Store) writeRundown(ctx context.Context, tx *sql.Tx, r *broadcast.Rundown, before broadcast.Rundown) error {
	if err := r.Validate(); err != nil {
		return err
	}
	var c int64
	if err := tx.QueryRowContext(ctx, "SELECT community_id FROM broadcast_slots WHERE id = $1", r.SlotID).Scan(&c); err != nil {
		return err
	}
	for i, it := range r.Items {
		if it.TrackID != 0 {
			n, err := count(ctx, tx, "SELECT COUNT(*) FROM broadcast_tracks WHERE id = $1 AND community_id = $2", it.TrackID, c)
			if err != nil {
				return err
			}
			if n == 0 {
				return shequ.Invalid(map[string]string{fmt.Sprintf("items[%d].track_id", i): "is not a track of the library"})
			}
		}
		if it.MediaID != 0 {
			n, err := count(ctx, tx, "SELECT COUNT(*) FROM media WHERE id = $1 AND community_id = $2 AND kind = $3", it.MediaID, c, media.Audio.Name)
			if err != nil {
				return err
			}
			if n == 0 {
				return shequ.Invalid(map[string]string{fmt.Sprintf("items[%d].media_id", i): "is not an audio file of the community"})
			}
		}
	}
	r.UpdatedAt = s.now()
	if _, err := tx.ExecContext(ctx, "UPDATE broadcast_slots SET items = $1, items_at = $2 WHERE id = $3", jsonText(r.Items), r.UpdatedAt, r.SlotID); err != nil {
		return err
	}
	return s.change(ctx, tx, c, "update", "broadcast_rundown", r.SlotID, before, r)
}

// ListTracks lists the library.
func (s *Store) ListTracks(ctx context.Context, scope auth.Scope, communityID int64, page shequ.Page) (shequ.List[broadcast.Track], error) {
	var a args
	return listOf(ctx, s.reader(), broadcastTracks, scope, communityFilter("t.community_id", communityID, &a), a, page, scanTrack)
}

// Track returns one song or clip of the library.
func (s *Store) Track(ctx context.Context, scope auth.Scope, id int64) (broadcast.Track, error) {
	return oneOf(ctx, s.reader(), broadcastTracks, scope, id, scanTrack)
}

// AddTrack adds audio put in the media store to the library.
func (s *Store) AddTrack(ctx context.Context, scope auth.Scope, t *broadcast.Track, blob media.Media) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, t.CommunityID); err != nil {
		return err
	}
	if blob.Kind != media.Audio.Name {
		return shequ.Invalid(map[string]string{"file": "must be audio"})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		t.CreatedAt = s.now()
		id, err := insert(ctx, tx, "INSERT INTO broadcast_tracks (community_id, title, artist, seconds, lufs, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
			t.CommunityID, t.Title, t.Artist, t.Seconds, t.LUFS, t.CreatedAt)
		if err != nil {
			return err
		}
		t.ID = id
		blob.CommunityID, blob.OwnerKind, blob.OwnerID, blob.Name = t.CommunityID, "broadcast_track", id, t.Title
		if err := s.addMedia(ctx, tx, &blob); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_tracks SET media_id = $1 WHERE id = $2", blob.ID, id); err != nil {
			return err
		}
		t.MediaID, t.ContentType, t.Size, t.SHA256 = blob.ID, blob.ContentType, blob.Size, blob.SHA256
		return s.change(ctx, tx, t.CommunityID, "create", "broadcast_track", id, nil, t)
	})
}

// AudioMedia returns a media row of kind audio of the community: a clip a
// rundown names.
func (s *Store) AudioMedia(ctx context.Context, communityID, id int64) (media.Media, error) {
	m, err := scanMedia(s.reader().QueryRowContext(ctx, "SELECT "+mediaColumns+" FROM media WHERE id = $1 AND community_id = $2 AND kind = $3",
		id, communityID, media.Audio.Name))
	if err == sql.ErrNoRows {
		return m, notFound("audio", id)
	}
	return m, err
}

// Render returns the rendered audio cached under hash, ENOTFOUND when
// there is none.
func (s *Store) Render(ctx context.Context, communityID int64, hash string) (broadcast.Audio, error) {
	var a broadcast.Audio
	var marks string
	err := s.reader().QueryRowContext(ctx, "SELECT sha256, seconds, marks FROM broadcast_renders WHERE community_id = $1 AND hash = $2", communityID, hash).Scan(&a.SHA256, &a.Seconds, &marks)
	if err == sql.ErrNoRows {
		return a, shequ.Errorf(shequ.ENOTFOUND, "no render %s", hash)
	}
	if err == nil {
		err = json.Unmarshal([]byte(marks), &a.Marks)
	}
	return a, err
}

// SaveRender keeps rendered audio, put in the media store, under hash;
// a render saved twice is kept once.
func (s *Store) SaveRender(ctx context.Context, communityID int64, hash string, a broadcast.Audio, blob media.Media) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, err := count(ctx, tx, "SELECT COUNT(*) FROM broadcast_renders WHERE community_id = $1 AND hash = $2", communityID, hash)
		if err != nil || n > 0 {
			return err
		}
		id, err := insert(ctx, tx, "INSERT INTO broadcast_renders (community_id, hash, sha256, seconds, marks, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
			communityID, hash, a.SHA256, a.Seconds, jsonText(a.Marks), s.now())
		if err != nil {
			return err
		}
		blob.CommunityID, blob.OwnerKind, blob.OwnerID, blob.Kind = communityID, "broadcast_render", id, media.Audio.Name
		return s.addMedia(ctx, tx, &blob)
	})
}

// RecordAsRun appends to a zone's as-run log.
func (s *Store) RecordAsRun(ctx context.Context, r *broadcast.AsRun) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := insert(ctx, tx, `INSERT INTO broadcast_asrun (community_id, zone_id, slot_id, emergency_id, kind, status, started_at, seconds, detail, listeners)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			r.CommunityID, r.ZoneID, nullID(r.SlotID), nullID(r.EmergencyID), r.Kind, r.Status, r.StartedAt.UTC(), r.Seconds, r.Detail, r.Listeners)
		r.ID = id
		return err
	})
}

// ListAsRun lists what went out, newest first.
func (s *Store) ListAsRun(ctx context.Context, scope auth.Scope, f broadcast.AsRunFilter) (shequ.List[broadcast.AsRun], error) {
	var a args
	conds := communityFilter("r.community_id", f.CommunityID, &a)
	if f.ZoneID != 0 {
		conds = append(conds, "r.zone_id = "+a.add(f.ZoneID))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "r.started_at >= "+a.add(f.Since.UTC()))
	}
	l, err := listOf(ctx, s.reader(), broadcastAsRun, scope, conds, a, f.Page, scanAsRun)
	if err != nil {
		return l, err
	}
	return l, s.noticesAired(ctx, l.Items)
}

// noticesAired names, on each slot's as-run entry, the notices read in
// it: those whose airing went out on the entry's zone while it played.
func (s *Store) noticesAired(ctx context.Context, runs []broadcast.AsRun) error {
	var slots []int64
	for _, r := range runs {
		if r.SlotID != 0 && r.Status == broadcast.RunPlayed && !slices.Contains(slots, r.SlotID) {
			slots = append(slots, r.SlotID)
		}
	}
	if len(slots) == 0 {
		return nil
	}
	type aired struct {
		broadcast.NoticeAiring
		title string
	}
	var all []aired
	var a args
	err := eachRow(ctx, s.reader(), "SELECT a.notice_id, a.slot_id, a.zone_ids, a.airs_at, a.aired_at, n.title FROM broadcast_notice_airings a JOIN notices n ON n.id = a.notice_id"+
		" WHERE a.aired_at IS NOT NULL AND a.slot_id IN "+inList(&a, slots), a, func(r scanner) error {
		var x aired
		var err error
		x.NoticeAiring, err = scanNoticeAiring(scanFunc(func(dest ...any) error { return r.Scan(append(dest, &x.title)...) }))
		all = append(all, x)
		return err
	})
	if err != nil {
		return err
	}
	for i := range runs {
		r := &runs[i]
		if r.SlotID == 0 || r.Status != broadcast.RunPlayed {
			continue
		}
		// The zones of one airing begin within moments of each other.
		from, until := r.StartedAt.Add(-time.Minute), r.StartedAt.Add(time.Duration(r.Seconds*float64(time.Second))+time.Minute)
		for _, x := range all {
			if x.SlotID == r.SlotID && slices.Contains(x.ZoneIDs, r.ZoneID) && !x.AiredAt.Before(from) && x.AiredAt.Before(until) {
				r.Notices = append(r.Notices, x.title)
			}
		}
	}
	return nil
}

// CreateEmergency records an emergency announcement.
func (s *Store) CreateEmergency(ctx context.Context, scope auth.Scope, e *broadcast.Emergency) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, e.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkZones(ctx, tx, e.CommunityID, e.ZoneIDs); err != nil {
			return err
		}
		e.CreatedAt = s.now()
		if a := auth.ActorFrom(ctx); a != nil {
			e.CreatedBy = a.User.ID
		}
		id, err := insert(ctx, tx, `INSERT INTO broadcast_emergencies (community_id, zone_ids, text, level, warning_level, status, repeats, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.CommunityID, jsonText(e.ZoneIDs), e.Text, e.Level, e.WarningLevel, e.Status, e.Repeat, nullID(e.CreatedBy), e.CreatedAt)
		if err != nil {
			return err
		}
		e.ID = id
		return s.change(ctx, tx, e.CommunityID, "create", "broadcast_emergency", id, nil, e)
	})
}

// Programmes returns every community's zones and slots with their
// rundowns, for the scheduler (no scope: it is the system's own reading).
func (s *Store) Programmes(ctx context.Context) ([]broadcast.Programme, error) {
	zrows, err := s.reader().QueryContext(ctx, "SELECT "+broadcastZones.columns+" FROM broadcast_zones z ORDER BY z.community_id, z.code")
	if err != nil {
		return nil, fmt.Errorf("programmes: %w", err)
	}
	var zones []broadcast.Zone
	for zrows.Next() {
		z, err := scanZone(zrows)
		if err != nil {
			zrows.Close()
			return nil, err
		}
		zones = append(zones, z)
	}
	zrows.Close()
	if err := zrows.Err(); err != nil {
		return nil, err
	}
	byCommunity := map[int64]*broadcast.Programme{}
	var order []int64
	get := func(c int64) *broadcast.Programme {
		p := byCommunity[c]
		if p == nil {
			p = &broadcast.Programme{CommunityID: c, Rundowns: map[int64][]broadcast.Item{}}
			byCommunity[c] = p
			order = append(order, c)
		}
		return p
	}
	for _, z := range zones {
		p := get(z.CommunityID)
		p.Zones = append(p.Zones, z)
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT "+broadcastSlots.columns+", s.items FROM broadcast_slots s ORDER BY s.id")
	if err != nil {
		return nil, fmt.Errorf("programmes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var items string
		x, err := scanSlot(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &items)...) }))
		if err != nil {
			return nil, err
		}
		p := get(x.CommunityID)
		p.Slots = append(p.Slots, x)
		var it []broadcast.Item
		if err := json.Unmarshal([]byte(items), &it); err != nil {
			return nil, err
		}
		p.Rundowns[x.ID] = it
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []broadcast.Programme{}
	for _, c := range order {
		p := byCommunity[c]
		var tz string
		if err := s.reader().QueryRowContext(ctx, "SELECT timezone FROM communities WHERE id = $1", c).Scan(&tz); err != nil {
			return nil, fmt.Errorf("programmes: community %d: %w", c, err)
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			loc = time.UTC
		}
		p.Location = loc
		out = append(out, *p)
	}
	return out, nil
}

// scanFunc makes a scanner of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

const dedicationColumns = "d.id, d.community_id, d.requested_by, d.track_id, d.song, d.for_whom, d.occasion, d.message, d.wished_day, d.status, d.slot_id, d.note, d.decided_by, d.decided_at, d.aired_at, d.created_at"

func scanDedication(r scanner) (broadcast.Dedication, error) {
	var d broadcast.Dedication
	var by, track, slot, decider sql.NullInt64
	var at, aired sql.NullTime
	err := r.Scan(&d.ID, &d.CommunityID, &by, &track, &d.Song, &d.For, &d.Occasion, &d.Message, &d.Day, &d.Status, &slot, &d.Note, &decider, &at, &aired, &d.CreatedAt)
	d.RequestedBy, d.TrackID, d.SlotID, d.DecidedBy, d.CreatedAt = by.Int64, track.Int64, slot.Int64, decider.Int64, d.CreatedAt.UTC()
	if at.Valid {
		t := at.Time.UTC()
		d.DecidedAt = &t
	}
	if aired.Valid {
		t := aired.Time.UTC()
		d.AiredAt = &t
	}
	return d, err
}

// dedicationsWhere keeps the requests scope reaches: all of a community
// for whoever reaches it whole (the broadcaster), one's own elsewhere.
func dedicationsWhere(scope auth.Scope, user int64, a *args) string {
	var whole []int64
	for _, r := range scope {
		if r.CommunityID == 0 {
			return "TRUE"
		}
		if r.GridID == 0 && r.HouseholdID == 0 {
			whole = append(whole, r.CommunityID)
		}
	}
	var ors []string
	if len(whole) > 0 {
		ors = append(ors, "d.community_id IN "+inList(a, whole))
	}
	if len(scope) > 0 && user != 0 {
		ors = append(ors, "d.requested_by = "+a.add(user))
	}
	if len(ors) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// ListDedications lists song requests, newest first: a community's for
// those who reach it whole, else the caller's own.
func (s *Store) ListDedications(ctx context.Context, scope auth.Scope, user int64, communityID int64, status string, page shequ.Page) (shequ.List[broadcast.Dedication], error) {
	var a args
	where := []string{dedicationsWhere(scope, user, &a)}
	where = append(where, communityFilter("d.community_id", communityID, &a)...)
	if status != "" {
		where = append(where, "d.status = "+a.add(status))
	}
	return listWhere(ctx, s.reader(), "dedications", "broadcast_dedications d", dedicationColumns, strings.Join(where, " AND "), "d.created_at DESC, d.id DESC", a, page, scanDedication)
}

// RequestDedication files a song request in a community scope reaches.
func (s *Store) RequestDedication(ctx context.Context, scope auth.Scope, d *broadcast.Dedication) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if !slices.ContainsFunc(scope, func(r auth.Reach) bool { return r.CommunityID == 0 || r.CommunityID == d.CommunityID }) {
		return shequ.Errorf(shequ.EFORBIDDEN, "you may not request songs in community %d", d.CommunityID)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if d.TrackID != 0 {
			n, err := count(ctx, tx, "SELECT COUNT(*) FROM broadcast_tracks WHERE id = $1 AND community_id = $2", d.TrackID, d.CommunityID)
			if err != nil {
				return err
			}
			if n == 0 {
				return shequ.Invalid(map[string]string{"track_id": "is not a track of the library"})
			}
		}
		if a := auth.ActorFrom(ctx); a != nil {
			d.RequestedBy = a.User.ID
		}
		d.Status, d.CreatedAt = broadcast.DedicationPending, s.now()
		id, err := insert(ctx, tx, `INSERT INTO broadcast_dedications (community_id, requested_by, track_id, song, for_whom, occasion, message, wished_day, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, d.CommunityID, nullID(d.RequestedBy), nullID(d.TrackID), d.Song, d.For, d.Occasion, d.Message, d.Day, d.Status, d.CreatedAt)
		if err != nil {
			return err
		}
		d.ID = id
		return s.change(ctx, tx, d.CommunityID, "create", "broadcast_dedication", id, nil, d)
	})
}

// DecideDedication approves a pending request into a slot's rundown (as a
// dedication item of trackID, or of the track it names) or rejects it.
func (s *Store) DecideDedication(ctx context.Context, scope auth.Scope, id int64, approve bool, slotID, trackID int64, note string) (broadcast.Dedication, error) {
	var d broadcast.Dedication
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "broadcast_dedications", id); err != nil {
			return err
		}
		var a args
		var err error
		d, err = scanDedication(tx.QueryRowContext(ctx, "SELECT "+dedicationColumns+" FROM broadcast_dedications d WHERE d.id = "+a.add(id)+" AND "+
			scopeWhere(scope, scopeCols{community: "d.community_id"}, &a), a...))
		if err == sql.ErrNoRows {
			return notFound("dedication", id)
		} else if err != nil {
			return err
		}
		if !scope.WholeCommunity(d.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the community's broadcasters decide song requests")
		}
		if d.Status != broadcast.DedicationPending {
			return shequ.Errorf(shequ.ECONFLICT, "the request was %s already", d.Status)
		}
		before := d
		now := s.now()
		d.Note, d.DecidedAt = note, &now
		if by := auth.ActorFrom(ctx); by != nil {
			d.DecidedBy = by.User.ID
		}
		d.Status = broadcast.DedicationRejected
		if approve {
			if trackID == 0 {
				trackID = d.TrackID
			}
			if trackID == 0 || slotID == 0 {
				return shequ.Invalid(map[string]string{"track_id": "approving needs the song from the library and the slot it plays in"})
			}
			r, err := readRundown(ctx, tx, scope, slotID)
			if err != nil {
				return err
			}
			r.Items = append(r.Items, broadcast.Item{Kind: broadcast.ItemDedication, TrackID: trackID, Text: d.Words(), DedicationID: d.ID, From: d.Day})
			if err := s.writeRundown(ctx, tx, &r, r); err != nil {
				return err
			}
			d.Status, d.SlotID, d.TrackID = broadcast.DedicationApproved, slotID, trackID
		}
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_dedications SET status = $1, slot_id = $2, track_id = $3, note = $4, decided_by = $5, decided_at = $6 WHERE id = $7",
			d.Status, nullID(d.SlotID), nullID(d.TrackID), d.Note, nullID(d.DecidedBy), now, d.ID); err != nil {
			return err
		}
		return s.change(ctx, tx, d.CommunityID, d.Status, "broadcast_dedication", d.ID, before, d)
	})
	return d, err
}

// Aired records that a slot's airing went out with items: the song
// requests and notices among them are aired, and leave the slot's rundown
// so that they play once. Recording it again changes nothing.
func (s *Store) Aired(ctx context.Context, slotID int64, items []broadcast.Item, at time.Time) error {
	var dedications, notices []int64
	for _, it := range items {
		if it.DedicationID != 0 {
			dedications = append(dedications, it.DedicationID)
		}
		if it.NoticeID != 0 {
			notices = append(notices, it.NoticeID)
		}
	}
	if len(dedications)+len(notices) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "broadcast_slots", slotID); err != nil {
			return err
		}
		r, err := readRundown(ctx, tx, auth.Scope{{}}, slotID)
		if err != nil {
			return err
		}
		before := r
		r.Items = slices.DeleteFunc(slices.Clone(r.Items), func(it broadcast.Item) bool {
			return (it.DedicationID != 0 && slices.Contains(dedications, it.DedicationID)) || (it.NoticeID != 0 && slices.Contains(notices, it.NoticeID))
		})
		if len(r.Items) != len(before.Items) {
			if err := s.writeRundown(ctx, tx, &r, before); err != nil {
				return err
			}
		}
		if len(dedications) > 0 {
			var a args
			if _, err := tx.ExecContext(ctx, "UPDATE broadcast_dedications SET status = "+a.add(broadcast.DedicationAired)+", aired_at = "+a.add(at.UTC())+
				" WHERE status = "+a.add(broadcast.DedicationApproved)+" AND slot_id = "+a.add(slotID)+" AND id IN "+inList(&a, dedications), a...); err != nil {
				return err
			}
		}
		if len(notices) > 0 {
			var a args
			if _, err := tx.ExecContext(ctx, "UPDATE broadcast_notice_airings SET aired_at = "+a.add(at.UTC())+
				" WHERE aired_at IS NULL AND slot_id = "+a.add(slotID)+" AND notice_id IN "+inList(&a, notices), a...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListenerProgramme is the programme a household hears: the zones with a
// loudspeaker of its grid (its grid's own first, then wider ones), the
// slots on them and what they carry.
func (s *Store) ListenerProgramme(ctx context.Context, householdID int64) (broadcast.Programme, error) {
	var p broadcast.Programme
	var grid int64
	var tz string
	err := s.reader().QueryRowContext(ctx, `SELECT b.grid_id, h.community_id, c.timezone FROM households h JOIN homes o ON o.id = h.home_id
		JOIN buildings b ON b.id = o.building_id JOIN communities c ON c.id = h.community_id WHERE h.id = $1`, householdID).Scan(&grid, &p.CommunityID, &tz)
	if err == sql.ErrNoRows {
		return p, notFound("household", householdID)
	} else if err != nil {
		return p, err
	}
	if p.Location, err = time.LoadLocation(tz); err != nil {
		p.Location = time.UTC
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT id FROM devices WHERE grid_id = $1 AND kind = $2", grid, community.DeviceSpeaker)
	if err != nil {
		return p, err
	}
	var speakers []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return p, err
		}
		speakers = append(speakers, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}
	all, err := s.Programmes(ctx)
	if err != nil {
		return p, err
	}
	for _, q := range all {
		if q.CommunityID != p.CommunityID {
			continue
		}
		for _, z := range q.Zones {
			if slices.ContainsFunc(z.SpeakerIDs, func(id int64) bool { return slices.Contains(speakers, id) }) {
				p.Zones = append(p.Zones, z)
			}
		}
		slices.SortStableFunc(p.Zones, func(a, b broadcast.Zone) int { return len(a.SpeakerIDs) - len(b.SpeakerIDs) })
		p.Rundowns = map[int64][]broadcast.Item{}
		for _, x := range q.Slots {
			if slices.ContainsFunc(x.ZoneIDs, func(id int64) bool {
				return slices.ContainsFunc(p.Zones, func(z broadcast.Zone) bool { return z.ID == id })
			}) {
				p.Slots = append(p.Slots, x)
				// Items kept to other zones (another grid's notice) are
				// not the household's to hear.
				p.Rundowns[x.ID] = slices.DeleteFunc(slices.Clone(q.Rundowns[x.ID]), func(it broadcast.Item) bool {
					return len(it.ZoneIDs) > 0 && !slices.ContainsFunc(p.Zones, func(z broadcast.Zone) bool { return slices.Contains(it.ZoneIDs, z.ID) })
				})
			}
		}
	}
	return p, nil
}

// UpdateZone changes a zone's code, name and speakers.
func (s *Store) UpdateZone(ctx context.Context, scope auth.Scope, z *broadcast.Zone) error {
	before, err := s.Zone(ctx, scope, z.ID)
	if err != nil {
		return err
	}
	z.CommunityID, z.CreatedAt = before.CommunityID, before.CreatedAt
	if err := z.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, z.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkSpeakers(ctx, tx, z.CommunityID, z.SpeakerIDs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_zones SET code = $1, name = $2, speaker_ids = $3 WHERE id = $4",
			z.Code, z.Name, jsonText(z.SpeakerIDs), z.ID); err != nil {
			return err
		}
		return s.change(ctx, tx, z.CommunityID, "update", "broadcast_zone", z.ID, before, z)
	})
}

// DeleteZone removes a zone no slot plays on.
func (s *Store) DeleteZone(ctx context.Context, scope auth.Scope, id int64) error {
	z, err := s.Zone(ctx, scope, id)
	if err != nil {
		return err
	}
	if err := mustReachCommunity(scope, z.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT zone_ids FROM broadcast_slots WHERE community_id = $1", z.CommunityID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ids string
			var zs []int64
			if err := rows.Scan(&ids); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(ids), &zs); err != nil {
				return err
			}
			if slices.Contains(zs, id) {
				return shequ.Errorf(shequ.ECONFLICT, "slots still play on zone %s: take it off them first", z.Code)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM broadcast_zones WHERE id = $1", id); err != nil {
			return err
		}
		return s.change(ctx, tx, z.CommunityID, "delete", "broadcast_zone", id, z, nil)
	})
}

// UpdateSlot changes a slot's name, zones, days, time, dates and
// exceptions; its rundown stays.
func (s *Store) UpdateSlot(ctx context.Context, scope auth.Scope, x *broadcast.Slot) error {
	before, err := s.Slot(ctx, scope, x.ID)
	if err != nil {
		return err
	}
	x.CommunityID, x.CreatedAt, x.Flag = before.CommunityID, before.CreatedAt, before.Flag
	if err := x.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, x.CommunityID); err != nil {
		return err
	}
	if x.Exceptions == nil {
		x.Exceptions = []broadcast.Exception{}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkZones(ctx, tx, x.CommunityID, x.ZoneIDs); err != nil {
			return err
		}
		if err := s.checkSlotFree(ctx, tx, x); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE broadcast_slots SET name = $1, zone_ids = $2, days = $3, start_hm = $4, minutes = $5, date_from = $6, date_until = $7, exceptions = $8
			WHERE id = $9`, x.Name, jsonText(x.ZoneIDs), jsonText(x.Days), x.Start, x.Minutes, x.From, x.Until, jsonText(x.Exceptions), x.ID); err != nil {
			return err
		}
		return s.change(ctx, tx, x.CommunityID, "update", "broadcast_slot", x.ID, before, x)
	})
}

// DeleteSlot removes a slot and its rundown; song requests approved into
// it go back to the queue.
func (s *Store) DeleteSlot(ctx context.Context, scope auth.Scope, id int64) error {
	x, err := s.Slot(ctx, scope, id)
	if err != nil {
		return err
	}
	if err := mustReachCommunity(scope, x.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_dedications SET status = $1, slot_id = NULL WHERE slot_id = $2 AND status = $3",
			broadcast.DedicationPending, id, broadcast.DedicationApproved); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_dedications SET slot_id = NULL WHERE slot_id = $1", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM broadcast_slots WHERE id = $1", id); err != nil {
			return err
		}
		return s.change(ctx, tx, x.CommunityID, "delete", "broadcast_slot", id, x, nil)
	})
}

// EmergenciesSince lists the announcements made from since on, oldest
// first, for the nodes that did not make them (no scope: the system's own
// reading).
func (s *Store) EmergenciesSince(ctx context.Context, since time.Time) ([]broadcast.Emergency, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT id, community_id, zone_ids, text, level, warning_level, status, repeats, created_by, created_at
		FROM broadcast_emergencies WHERE created_at >= $1 ORDER BY created_at, id`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("emergencies: %w", err)
	}
	defer rows.Close()
	var out []broadcast.Emergency
	for rows.Next() {
		var e broadcast.Emergency
		var zones string
		var by sql.NullInt64
		if err := rows.Scan(&e.ID, &e.CommunityID, &zones, &e.Text, &e.Level, &e.WarningLevel, &e.Status, &e.Repeat, &by, &e.CreatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(zones), &e.ZoneIDs); err != nil {
			return nil, err
		}
		e.CreatedBy, e.CreatedAt = by.Int64, e.CreatedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// SpeakerAddresses returns the configured network address of each
// speaker (no scope: the system's own reading).
func (s *Store) SpeakerAddresses(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var a args
	rows, err := s.reader().QueryContext(ctx, "SELECT id, address FROM devices WHERE kind = "+a.add(community.DeviceSpeaker)+" AND id IN "+inList(&a, ids), a...)
	if err != nil {
		return nil, fmt.Errorf("speaker addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var addr string
		if err := rows.Scan(&id, &addr); err != nil {
			return nil, err
		}
		out[id] = addr
	}
	return out, rows.Err()
}

const speakerTroubleColumns = "id, community_id, speaker_id, zone_id, slot_id, raised_at, cleared_at"

func scanSpeakerTrouble(r scanner) (broadcast.SpeakerTrouble, error) {
	var t broadcast.SpeakerTrouble
	var slot sql.NullInt64
	var cleared sql.NullTime
	err := r.Scan(&t.ID, &t.CommunityID, &t.SpeakerID, &t.ZoneID, &slot, &t.RaisedAt, &cleared)
	t.SlotID, t.RaisedAt = slot.Int64, t.RaisedAt.UTC()
	if cleared.Valid {
		c := cleared.Time.UTC()
		t.ClearedAt = &c
	}
	return t, err
}

// OpenSpeakerTroubles returns the speakers' troubles not cleared, by
// speaker.
func (s *Store) OpenSpeakerTroubles(ctx context.Context) (map[int64]broadcast.SpeakerTrouble, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT "+speakerTroubleColumns+" FROM broadcast_speaker_troubles WHERE cleared_at IS NULL")
	if err != nil {
		return nil, fmt.Errorf("speaker troubles: %w", err)
	}
	defer rows.Close()
	out := map[int64]broadcast.SpeakerTrouble{}
	for rows.Next() {
		t, err := scanSpeakerTrouble(rows)
		if err != nil {
			return nil, err
		}
		out[t.SpeakerID] = t
	}
	return out, rows.Err()
}

// SpeakerTroubles lists a community's speaker troubles, newest first.
func (s *Store) SpeakerTroubles(ctx context.Context, scope auth.Scope, communityID int64) ([]broadcast.SpeakerTrouble, error) {
	if err := mustReachCommunity(scope, communityID); err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT "+speakerTroubleColumns+" FROM broadcast_speaker_troubles WHERE community_id = $1 ORDER BY raised_at DESC, id DESC LIMIT 100", communityID)
	if err != nil {
		return nil, fmt.Errorf("speaker troubles: %w", err)
	}
	defer rows.Close()
	var out []broadcast.SpeakerTrouble
	for rows.Next() {
		t, err := scanSpeakerTrouble(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RaiseSpeakerTrouble records that a speaker missed a whole slot, unless
// it has a trouble open already.
func (s *Store) RaiseSpeakerTrouble(ctx context.Context, t *broadcast.SpeakerTrouble) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, err := count(ctx, tx, "SELECT COUNT(*) FROM broadcast_speaker_troubles WHERE speaker_id = $1 AND cleared_at IS NULL", t.SpeakerID)
		if err != nil || n > 0 {
			return err
		}
		id, err := insert(ctx, tx, "INSERT INTO broadcast_speaker_troubles (community_id, speaker_id, zone_id, slot_id, raised_at) VALUES ($1, $2, $3, $4, $5)",
			t.CommunityID, t.SpeakerID, t.ZoneID, nullID(t.SlotID), t.RaisedAt.UTC())
		if err != nil {
			return err
		}
		t.ID = id
		return s.change(ctx, tx, t.CommunityID, "raise", "broadcast_speaker_trouble", id, nil, t)
	})
}

// ClearSpeakerTrouble clears a speaker's open trouble: it listens again.
func (s *Store) ClearSpeakerTrouble(ctx context.Context, speakerID int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id, c int64
		err := tx.QueryRowContext(ctx, "SELECT id, community_id FROM broadcast_speaker_troubles WHERE speaker_id = $1 AND cleared_at IS NULL", speakerID).Scan(&id, &c)
		if err == sql.ErrNoRows {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE broadcast_speaker_troubles SET cleared_at = $1 WHERE id = $2", at.UTC(), id); err != nil {
			return err
		}
		return s.change(ctx, tx, c, "clear", "broadcast_speaker_trouble", id, nil, map[string]any{"cleared_at": at.UTC()})
	})
}

// readOnAir puts a notice ticked "also read on the loudspeakers" into the
// rundown of the next airing, after it is published, of each zone its
// audience hears: every zone for the whole community, else the zones whose
// loudspeakers all stand in its grids (or its buildings' grids). Zones
// that share an airing share one item, kept to them when the slot plays
// on others too; each airing is recorded so that the notice is read once
// and shows on the as-run log.
func (s *Store) readOnAir(ctx context.Context, tx *sql.Tx, n *content.Notice) error {
	c := n.CommunityID
	zrows, err := tx.QueryContext(ctx, "SELECT "+broadcastZones.columns+" FROM broadcast_zones z WHERE z.community_id = $1 ORDER BY z.id", c)
	if err != nil {
		return fmt.Errorf("notice on air: %w", err)
	}
	var zones []broadcast.Zone
	for zrows.Next() {
		z, err := scanZone(zrows)
		if err != nil {
			zrows.Close()
			return err
		}
		zones = append(zones, z)
	}
	zrows.Close()
	if err := zrows.Err(); err != nil {
		return err
	}
	gridOf := map[int64]int64{}
	if err := eachRow(ctx, tx, "SELECT id, grid_id FROM devices WHERE community_id = $1 AND kind = $2", []any{c, community.DeviceSpeaker}, func(r scanner) error {
		var id int64
		var g sql.NullInt64
		err := r.Scan(&id, &g)
		gridOf[id] = g.Int64
		return err
	}); err != nil {
		return err
	}
	grids := slices.Clone(n.Audience.GridIDs)
	if bs := n.Audience.BuildingIDs; len(bs) > 0 {
		var a args
		if err := eachRow(ctx, tx, "SELECT DISTINCT grid_id FROM buildings WHERE community_id = "+a.add(c)+" AND id IN "+inList(&a, bs), a, func(r scanner) error {
			var g sql.NullInt64
			err := r.Scan(&g)
			grids = append(grids, g.Int64)
			return err
		}); err != nil {
			return err
		}
	}
	covered := broadcast.ZonesFor(zones, gridOf, n.Audience.Scope == content.AudienceCommunity, grids)
	if len(covered) == 0 {
		return shequ.Invalid(map[string]string{"broadcast": "no loudspeaker zone plays to the notice's audience"})
	}
	var slots []broadcast.Slot
	if err := eachRow(ctx, tx, "SELECT "+broadcastSlots.columns+" FROM broadcast_slots s WHERE s.community_id = $1 ORDER BY s.id", []any{c}, func(r scanner) error {
		x, err := scanSlot(r)
		slots = append(slots, x)
		return err
	}); err != nil {
		return err
	}
	var tz string
	if err := tx.QueryRowContext(ctx, "SELECT timezone FROM communities WHERE id = $1", c).Scan(&tz); err != nil {
		return fmt.Errorf("notice on air: %w", err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	after := s.now()
	if n.PublishAt.After(after) {
		after = n.PublishAt
	}
	// The airings chosen, in order, with the zones each reads it on.
	var airings []broadcast.Occurrence
	for _, z := range covered {
		o, ok := broadcast.Next(slots, loc, after, z)
		if !ok {
			continue
		}
		i := slices.IndexFunc(airings, func(x broadcast.Occurrence) bool { return x.SlotID == o.SlotID && x.Start.Equal(o.Start) })
		if i < 0 {
			o.ZoneIDs = nil
			airings = append(airings, o)
			i = len(airings) - 1
		}
		airings[i].ZoneIDs = append(airings[i].ZoneIDs, z)
	}
	if len(airings) == 0 {
		return shequ.Invalid(map[string]string{"broadcast": "no loudspeaker slot plays to the notice's audience in the coming week"})
	}
	text := noticeWords(n)
	for _, o := range airings {
		r, err := readRundown(ctx, tx, auth.Scope{{}}, o.SlotID)
		if err != nil {
			return err
		}
		before := r
		it := broadcast.Item{Kind: broadcast.ItemSpeech, Text: text, NoticeID: n.ID, From: o.Start.In(loc).Format(time.DateOnly)}
		slot := slots[slices.IndexFunc(slots, func(x broadcast.Slot) bool { return x.ID == o.SlotID })]
		if slices.ContainsFunc(slot.ZoneIDs, func(z int64) bool { return !slices.Contains(o.ZoneIDs, z) }) {
			it.ZoneIDs = o.ZoneIDs
		}
		r.Items = append(slices.Clone(r.Items), it)
		if err := s.writeRundown(ctx, tx, &r, before); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO broadcast_notice_airings (community_id, notice_id, slot_id, zone_ids, airs_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
			c, n.ID, o.SlotID, jsonText(o.ZoneIDs), o.Start, s.now()); err != nil {
			return err
		}
	}
	return nil
}

// noticeWords are what the loudspeakers say of a notice: its title and
// its body as plain text, within what a speech item may hold (the
// renderer rewrites numbers, dates and the like for speech).
func noticeWords(n *content.Notice) string {
	title := strings.TrimSpace(n.Title)
	if last, _ := utf8.DecodeLastRuneInString(title); !strings.ContainsRune("。！？.!?", last) {
		title += "。"
	}
	text := []rune(strings.TrimSpace(title + content.PlainText(n.Body)))
	if len(text) > 2000 {
		text = text[:2000]
	}
	return string(text)
}

// NoticeAirings lists where a notice is, or was, read on the
// loudspeakers.
func (s *Store) NoticeAirings(ctx context.Context, scope auth.Scope, noticeID int64) ([]broadcast.NoticeAiring, error) {
	var a args
	var out []broadcast.NoticeAiring
	err := eachRow(ctx, s.reader(), "SELECT a.notice_id, a.slot_id, a.zone_ids, a.airs_at, a.aired_at FROM broadcast_notice_airings a WHERE a.notice_id = "+a.add(noticeID)+
		" AND "+scopeWhere(scope, scopeCols{community: "a.community_id"}, &a)+" ORDER BY a.airs_at, a.id", a, func(r scanner) error {
		x, err := scanNoticeAiring(r)
		out = append(out, x)
		return err
	})
	return out, err
}

func scanNoticeAiring(r scanner) (broadcast.NoticeAiring, error) {
	var x broadcast.NoticeAiring
	var zones string
	var aired sql.NullTime
	if err := r.Scan(&x.NoticeID, &x.SlotID, &zones, &x.AirsAt, &aired); err != nil {
		return x, err
	}
	x.AirsAt = x.AirsAt.UTC()
	if aired.Valid {
		t := aired.Time.UTC()
		x.AiredAt = &t
	}
	return x, json.Unmarshal([]byte(zones), &x.ZoneIDs)
}

// takeOffAir takes a notice being deleted out of the rundowns it waits in
// to be read, and forgets its airings: a deleted notice is not read.
func (s *Store) takeOffAir(ctx context.Context, tx *sql.Tx, noticeID int64) error {
	var slots []int64
	if err := eachRow(ctx, tx, "SELECT DISTINCT slot_id FROM broadcast_notice_airings WHERE notice_id = $1 AND aired_at IS NULL", []any{noticeID}, func(r scanner) error {
		var id int64
		err := r.Scan(&id)
		slots = append(slots, id)
		return err
	}); err != nil {
		return err
	}
	for _, slot := range slots {
		r, err := readRundown(ctx, tx, auth.Scope{{}}, slot)
		if shequ.ErrorCode(err) == shequ.ENOTFOUND {
			continue // the slot went first
		} else if err != nil {
			return err
		}
		before := r
		r.Items = slices.DeleteFunc(slices.Clone(r.Items), func(it broadcast.Item) bool { return it.NoticeID == noticeID })
		if len(r.Items) != len(before.Items) {
			if err := s.writeRundown(ctx, tx, &r, before); err != nil {
				return err
			}
		}
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM broadcast_notice_airings WHERE notice_id = $1", noticeID)
	return err
}
