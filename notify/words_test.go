package notify

import (
	"strings"
	"testing"
)

// An alarm SMS says what is true when it is sent, in the recipient's
// language, with no kind code in it.
func TestAlarmMessagesSayWhatIsTrue(t *testing.T) {
	base := map[string]string{"building": "A栋", "door": "1-101", "time": "11-28 03:00", "kind": "panic"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name, template, lang string
		vars                 map[string]string
		want, not            []string
	}{
		{"intrusion just opened", "intrusion", "zh-Hans", with("status", "new", "intrusion", "burglary", "zone", "02", "zone_name", "客厅窗"),
			[]string{"入室盗窃 · 客厅窗", "监控中心已收到，值班员尚未确认"}, []string{"已处理", "burglary", "panic", "紧急求助"}},
		{"intrusion in a zone without a name", "intrusion", "zh-Hant", with("status", "acknowledged", "intrusion", "perimeter", "zone", "03"),
			[]string{"門窗被打開 · 防區 03", "值班員正在處理"}, []string{"perimeter"}},
		{"call for help nobody took yet", "life", "zh-Hans", with("status", "new"),
			[]string{"紧急求助", "尚未确认"}, []string{"赶往", "panic"}},
		{"call for help with someone sent", "life", "zh-Hans", with("status", "dispatched", "helper", "王网格"),
			[]string{"已派 王网格 前往"}, []string{"panic"}},
		{"English for an English reader", "intrusion", "en", with("status", "on_site", "helper", "Wang", "intrusion", "burglary", "zone", "02"),
			[]string{"burglary · zone 02", "Wang has arrived."}, []string{"{"}},
		{"escalation says the kind in words", "escalation", "zh-Hans", with("kind", "comm_failure", "minutes", "3"),
			[]string{"主机通信中断"}, []string{"comm_failure"}},
	}
	for _, tt := range tests {
		body, err := Render(tt.template, tt.lang, AlarmVars(tt.template, tt.lang, tt.vars))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: %q does not say %q", tt.name, body, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(body, w) {
				t.Errorf("%s: %q says %q", tt.name, body, w)
			}
		}
	}
}
