package broadcast

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Emergency levels: an urgent announcement cuts into what is playing
// within two seconds; a non-urgent one waits for the current item to end.
const (
	LevelUrgent    = "urgent"
	LevelNonUrgent = "non_urgent"
)

// CAP-style statuses. Anything but actual announces itself as such
// before and after, so that a drill never sounds like the real thing.
const (
	StatusActual   = "actual"
	StatusExercise = "exercise"
	StatusTest     = "test"
)

// WarningLevels are China's four early-warning levels: I 特别重大 (red),
// II 重大 (orange), III 较大 (yellow), IV 一般 (blue).
var WarningLevels = []string{"I", "II", "III", "IV"}

// Emergency is an announcement that overrides the programme.
type Emergency struct {
	ID           int64   `json:"id"`
	CommunityID  int64   `json:"community_id"`
	ZoneIDs      []int64 `json:"zone_ids"`
	Text         string  `json:"text"`
	Level        string  `json:"level"`
	WarningLevel string  `json:"warning_level,omitempty"`
	Status       string  `json:"status"`
	// Repeat is how many times the text is read, 1 to 5.
	Repeat    int       `json:"repeat"`
	CreatedBy int64     `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks an emergency announcement and fills in its defaults
// (status actual, read twice).
func (e *Emergency) Validate() error {
	p := shequ.Problems{}
	if e.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	if len(e.ZoneIDs) == 0 {
		p.Add("zone_ids", "name at least one zone")
	}
	e.Text = strings.TrimSpace(e.Text)
	p.RequireText("text", e.Text, 1000)
	if e.Level != LevelUrgent && e.Level != LevelNonUrgent {
		p.Add("level", "must be urgent or non_urgent")
	}
	if e.WarningLevel != "" && !slices.Contains(WarningLevels, e.WarningLevel) {
		p.Add("warning_level", "must be I, II, III or IV")
	}
	if e.Status == "" {
		e.Status = StatusActual
	}
	if e.Status != StatusActual && e.Status != StatusExercise && e.Status != StatusTest {
		p.Add("status", "must be actual, exercise or test")
	}
	if e.Repeat == 0 {
		e.Repeat = 2
	}
	if e.Repeat < 1 || e.Repeat > 5 {
		p.Add("repeat", "must be 1 to 5")
	}
	return p.Err()
}

// Opening tones of an announcement.
const (
	// ToneAlarm is three short high beeps: a real alarm, or its exercise.
	ToneAlarm = "alarm"
	// ToneSoft is one low soft tone: a test, which must never sound like
	// an alarm.
	ToneSoft = "soft"
)

// Tone is what the announcement opens with.
func (e Emergency) Tone() string {
	if e.Status == StatusTest {
		return ToneSoft
	}
	return ToneAlarm
}

var warningWords = map[string]string{"I": "一级特别重大", "II": "二级重大", "III": "三级较大", "IV": "四级一般"}

// Script is what is spoken for the announcement, after its Tone: a test
// or an exercise says so before and after every reading, and a warning
// level is named.
func (e Emergency) Script() []Item {
	var head, tail string
	switch e.Status {
	case StatusTest:
		head, tail = "这是广播测试，不是真实警报。", "以上是测试，不是真实警报。"
	case StatusExercise:
		head, tail = "这是应急演练，不是真实警报。", "以上是演练，不是真实警报。"
	default:
		head = "紧急通知。"
	}
	if w := warningWords[e.WarningLevel]; w != "" {
		head += w + "预警。"
	}
	var items []Item
	for range e.Repeat {
		text := head + e.Text
		if tail != "" {
			text += tail
		}
		if utf8.RuneCountInString(text) > 0 {
			items = append(items, Item{Kind: ItemSpeech, Text: text, Voice: VoiceMandarin})
		}
	}
	return items
}
