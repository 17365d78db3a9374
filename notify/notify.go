// Package notify sends the messages the alarm centre owes people: SMS to
// householders, emergency contacts and the community police officer, and
// offers to the staff sent to a home. Messages come from durable outbox
// jobs, each with an idempotency key, and go out through a Sender: the log
// (demo), an HTTP webhook to an SMS gateway, or SMPP.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ/alarm"
)

// Message is one text to one phone.
type Message struct {
	// Key identifies the message for its whole life: a gateway that sees a
	// key twice must send it once.
	Key  string `json:"key"`
	To   string `json:"to"`
	Body string `json:"body"`
}

// Sender delivers a message or says why not. A Sender must be safe for
// concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Permanent marks an error retrying cannot fix (a malformed number, a
// rejected account): the job fails at once instead of backing off.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return "permanent: " + p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// Receipt is a gateway's word on what became of a message it took.
type Receipt struct {
	// Key is the message's key, when the gateway or the sender knows it.
	Key string
	// MessageID is the gateway's id of the message (of one part, for SMPP).
	MessageID string
	// Status is the gateway's own word: SMPP's DELIVRD, UNDELIV …, or a
	// webhook's delivered or failed.
	Status string
	// Error is the gateway's reason for a failure, if it gave one.
	Error string
}

// ReceiptStatus reads a gateway's status word as a notification status:
// delivered, failed, or "" for a word that settles nothing yet (ENROUTE,
// ACCEPTD, UNKNOWN, anything new).
func ReceiptStatus(word string) string {
	switch strings.ToUpper(strings.TrimSpace(word)) {
	case "DELIVRD", "DELIVERED":
		return alarm.NotificationDelivered
	case "UNDELIV", "UNDELIVERABLE", "EXPIRED", "REJECTD", "REJECTED", "DELETED", "FAILED":
		return alarm.NotificationFailed
	}
	return ""
}

// Settles reads r as what it settles on an incident's timeline: delivered,
// or failed with the gateway's word as the reason; false when it settles
// nothing yet (ENROUTE, ACCEPTD …).
func (r Receipt) Settles(at time.Time) (alarm.Receipt, bool) {
	status := ReceiptStatus(r.Status)
	if status == "" {
		return alarm.Receipt{}, false
	}
	out := alarm.Receipt{Key: r.Key, GatewayID: r.MessageID, Status: status, At: at}
	if status == alarm.NotificationFailed {
		out.Error = r.Error
		if out.Error == "" {
			out.Error = r.Status
		}
	}
	return out, true
}

// LogSender writes messages to the log and keeps the latest ones for the
// console, so the demo shows what would have been sent.
type LogSender struct {
	Log *slog.Logger
	mu  sync.Mutex
	// Sent holds the latest messages, newest last.
	sent []Sent
}

// Sent is a message the log sender handled, with when.
type Sent struct {
	Message
	At time.Time `json:"at"`
}

// Send implements Sender.
func (l *LogSender) Send(_ context.Context, m Message) error {
	l.Log.Info("SMS (log driver)", "to", maskPhone(m.To), "key", m.Key, "body", m.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, Sent{Message: m, At: time.Now().UTC()})
	if len(l.sent) > 200 {
		l.sent = l.sent[len(l.sent)-200:]
	}
	return nil
}

// Recent returns the latest messages, newest last.
func (l *LogSender) Recent() []Sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Sent(nil), l.sent...)
}

func maskPhone(p string) string {
	if len(p) < 7 {
		return "***"
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// Templates are the message texts by template and language. {building},
// {door}, {kind}, {time} and {name} are filled in; {state} says what the
// centre has done so far, as it is when the message is sent (see Words).
var Templates = map[string]map[string]string{
	"intrusion": {
		"zh-Hans": "【社区报警】{building}{door} 于 {time} 发生入侵报警（{kind}）。{state}",
		"zh-Hant": "【社區報警】{building}{door} 於 {time} 發生入侵報警（{kind}）。{state}",
		"en":      "[Community alarm] Intrusion alarm ({kind}) at {building} {door} at {time}. {state}",
	},
	"life": {
		"zh-Hans": "【社区求助】{building}{door} 于 {time} 发出紧急求助（{kind}）。{state}",
		"zh-Hant": "【社區求助】{building}{door} 於 {time} 發出緊急求助（{kind}）。{state}",
		"en":      "[Community help] Emergency call ({kind}) from {building} {door} at {time}. {state}",
	},
	"escalation": {
		"zh-Hans": "【报警未处理】{building}{door} 的报警（{kind}）已 {minutes} 分钟无人确认，请立即处理。",
		"zh-Hant": "【報警未處理】{building}{door} 的報警（{kind}）已 {minutes} 分鐘無人確認，請立即處理。",
		"en":      "[Unhandled alarm] The {kind} alarm at {building} {door} has not been acknowledged for {minutes} min. Act now.",
	},
	"notice_important": {
		"zh-Hans": "【社区通知】{title}。请打开社区应用查看，并点击“已读”。",
		"zh-Hant": "【社區通知】{title}。請打開社區應用查看，並點擊「已讀」。",
		"en":      "[Community notice] {title}. Please open the community app to read it and tap \"I have read it\".",
	},
	"matter_status": {
		"zh-Hans": "【社区事项】您的事项 {tracking}（{category}）{status}。可在社区应用“我的事项”中查看进度。",
		"zh-Hant": "【社區事項】您的事項 {tracking}（{category}）{status}。可在社區應用「我的事項」中查看進度。",
		"en":      "[Community] Your matter {tracking} ({category}) {status}. See its progress under My matters in the app.",
	},
	"dispatch": {
		"zh-Hans": "【出警派单】请前往 {building}{door}（{floor}楼）：{kind}。请在应用中接单并报到。",
		"zh-Hant": "【出警派單】請前往 {building}{door}（{floor}樓）：{kind}。請在應用中接單並報到。",
		"en":      "[Dispatch] Please go to {building} {door} (floor {floor}): {kind}. Accept and report arrival in the app.",
	},
}

// Render fills a template in lang (zh-Hans when the language is unknown).
func Render(template, lang string, vars map[string]string) (string, error) {
	byLang, ok := Templates[template]
	if !ok {
		return "", fmt.Errorf("notify: no template %q", template)
	}
	text, ok := byLang[lang]
	if !ok {
		text = byLang["zh-Hans"]
	}
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{"+k+"}", v)
	}
	return text, nil
}

// statusWords say a matter's status in a message, per language.
var statusWords = map[string]map[string]string{
	"zh-Hans": {"submitted": "已受理登记", "accepted": "已受理", "assigned": "已派给工作人员", "in_progress": "正在办理", "resolved": "已办结，请确认", "closed": "已关闭", "returned": "需要您补充信息", "rejected": "未能受理，请查看原因"},
	"zh-Hant": {"submitted": "已受理登記", "accepted": "已受理", "assigned": "已派給工作人員", "in_progress": "正在辦理", "resolved": "已辦結，請確認", "closed": "已關閉", "returned": "需要您補充資訊", "rejected": "未能受理，請查看原因"},
	"en":      {"submitted": "was received", "accepted": "was accepted", "assigned": "was assigned to a staff member", "in_progress": "is being worked on", "resolved": "is resolved: please confirm", "closed": "is closed", "returned": "needs more information from you", "rejected": "could not be taken on: see the reason"},
}

// StatusWord says a matter status in lang (zh-Hans when unknown).
func StatusWord(status, lang string) string {
	words, ok := statusWords[lang]
	if !ok {
		words = statusWords["zh-Hans"]
	}
	if w, ok := words[status]; ok {
		return w
	}
	return status
}

// words are the parts of alarm messages said in the recipient's language:
// event kinds, a zone without a name, and what the centre has done so far
// (by incident status; {helper} is whom it sent).
var words = map[string]map[string]string{
	"zh-Hans": {
		"burglary": "入室盗窃", "perimeter": "门窗被打开", "interior": "室内有移动", "entry_exit": "进门后未撤防",
		"panic": "紧急求助", "duress": "胁迫报警", "medical": "医疗求助", "emergency": "个人紧急情况", "fire": "火警",
		"tamper": "设备被拆动", "comm_failure": "主机通信中断", "trouble": "设备故障", "alarm": "报警",
		"zone":      "防区 %s",
		"state.new": "监控中心已收到，值班员尚未确认。", "state.acknowledged": "监控中心值班员正在处理。",
		"state.dispatched": "已派 {helper} 前往。", "state.on_site": "{helper} 已到达。", "state.resolved": "监控中心已处理完毕。",
	},
	"zh-Hant": {
		"burglary": "入室盜竊", "perimeter": "門窗被打開", "interior": "室內有移動", "entry_exit": "進門後未撤防",
		"panic": "緊急求助", "duress": "脅迫報警", "medical": "醫療求助", "emergency": "個人緊急情況", "fire": "火警",
		"tamper": "設備被拆動", "comm_failure": "主機通信中斷", "trouble": "設備故障", "alarm": "報警",
		"zone":      "防區 %s",
		"state.new": "監控中心已收到，值班員尚未確認。", "state.acknowledged": "監控中心值班員正在處理。",
		"state.dispatched": "已派 {helper} 前往。", "state.on_site": "{helper} 已到達。", "state.resolved": "監控中心已處理完畢。",
	},
	"en": {
		"burglary": "burglary", "perimeter": "door or window opened", "interior": "movement inside", "entry_exit": "entry without disarming",
		"panic": "call for help", "duress": "duress", "medical": "medical help", "emergency": "personal emergency", "fire": "fire",
		"tamper": "device tampered with", "comm_failure": "panel out of contact", "trouble": "device fault", "alarm": "alarm",
		"zone":      "zone %s",
		"state.new": "The monitoring centre has received it; no operator has confirmed yet.", "state.acknowledged": "An operator of the monitoring centre is dealing with it.",
		"state.dispatched": "{helper} has been sent.", "state.on_site": "{helper} has arrived.", "state.resolved": "The monitoring centre has dealt with it.",
	},
}

// word is one of words in lang (zh-Hans when unknown); fallback when the
// language has no such word.
func word(lang, key, fallback string) string {
	ws, ok := words[lang]
	if !ok {
		ws = words["zh-Hans"]
	}
	if w, ok := ws[key]; ok {
		return w
	}
	return fallback
}

// AlarmVars are an incident message's variables in the recipient's
// language: the kind (for an intrusion notice, the intrusion's, with the
// zone by name or number), and {state}, what the centre has done so far.
func AlarmVars(template, lang string, vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars)+2)
	for k, v := range vars {
		out[k] = v
	}
	kind := vars["kind"]
	if template == "intrusion" && vars["intrusion"] != "" {
		kind = vars["intrusion"]
	}
	out["kind"] = word(lang, kind, word(lang, "alarm", kind))
	if template == "intrusion" {
		zone := vars["zone_name"]
		if zone == "" && vars["zone"] != "" {
			zone = fmt.Sprintf(word(lang, "zone", "%s"), vars["zone"])
		}
		if zone != "" {
			out["kind"] += " · " + zone
		}
	}
	state := word(lang, "state."+vars["status"], "")
	if vars["helper"] == "" && (vars["status"] == "dispatched" || vars["status"] == "on_site") {
		// Someone was sent whose name is unknown: say what is true
		// without it.
		state = word(lang, "state.acknowledged", "")
	}
	out["state"] = strings.ReplaceAll(state, "{helper}", vars["helper"])
	return out
}
