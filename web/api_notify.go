package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/notify"
)

// notifyStore is what the SMS gateway's callbacks need.
type notifyStore interface {
	NotificationReceipt(ctx context.Context, r alarm.Receipt) error
}

// ReceiptSignatureHeader carries the gateway's HMAC-SHA256 of a receipt's
// raw body under the shared secret, as "sha256=<hex>".
const ReceiptSignatureHeader = "X-Shequ-Signature"

// SignReceipt is the ReceiptSignatureHeader value for body under secret:
// what a gateway computes, and what tests send.
func SignReceipt(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// receiptBody is a gateway's word on one message.
type receiptBody struct {
	Key       string `json:"key,omitempty" doc:"The message's key, as sent in the Idempotency-Key header"`
	MessageID string `json:"message_id,omitempty" doc:"The gateway's id of the message, when the key is not given"`
	Status    string `json:"status" doc:"delivered or failed (SMPP's DELIVRD, UNDELIV, EXPIRED, REJECTD are read too)"`
	Error     string `json:"error,omitempty" doc:"Why it failed, in the gateway's words"`
}

type receiptInput struct {
	Signature string `header:"X-Shequ-Signature" doc:"sha256=<hex HMAC-SHA256 of the raw body under --sms-receipt-secret>"`
	Body      receiptBody
	RawBody   []byte
}

func (s *Server) registerNotifyAPI() {
	// Public to sessions: the gateway proves itself by the signature, as
	// it holds no account.
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/notify/receipts", Public: true, OK: true}, "sms-receipt",
		"An SMS gateway's delivery receipt: marks the message delivered or failed on its incident's timeline", "alarm", s.smsReceipt)
}

func (s *Server) smsReceipt(ctx context.Context, in *receiptInput) (*noContent, error) {
	if len(s.receiptSecret) == 0 {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "SMS receipts are not accepted: no --sms-receipt-secret is set")
	}
	want := SignReceipt(s.receiptSecret, in.RawBody)
	if !hmac.Equal([]byte(strings.ToLower(strings.TrimSpace(in.Signature))), []byte(want)) {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "wrong or missing %s", ReceiptSignatureHeader)
	}
	r, ok := notify.Receipt{Key: in.Body.Key, MessageID: in.Body.MessageID, Status: in.Body.Status, Error: in.Body.Error}.Settles(s.clock.Now())
	if !ok {
		return nil, shequ.Invalid(map[string]string{"status": "want delivered or failed"})
	}
	if err := s.store.NotificationReceipt(ctx, r); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}
