// Package sia is shequ's SIA DC-09 receiver: it owns the framing (CRC-16,
// length, the header fields), AES-CBC decryption and encryption of frames,
// the answers (ACK, *ACK, NAK, DUH), the SIA and Contact ID code tables that
// translate panel events into the alarm vocabulary, and the TCP/UDP server
// that ties them together.
//
// It stores nothing. Every decoded frame goes to a Handler, which returns
// only when the reports are durable; the frame is acknowledged after that
// and not before, so a crash between receiving and storing makes the panel
// send the frame again instead of losing it. Telling a retransmission from a
// new event is the store's job: each report carries the panel's account,
// sequence number and a fingerprint of the frame content for that.
//
// The answer rules, in the order they are applied to one frame:
//
//   - bad CRC, bad length or a shape that cannot be read: no answer at all
//     (the panel retransmits; answering garbage could acknowledge the wrong
//     frame).
//   - unknown ID token, unknown account, an encrypted frame for an account
//     without a key, a plain frame for an account with a key, a frame that
//     does not decrypt: DUH.
//   - an encrypted frame without a valid timestamp, or with one outside the
//     window (default 40 s in the past to 20 s in the future of the
//     receiver's UTC clock): NAK carrying the receiver's time, so that the
//     panel can correct its clock. Plain frames are checked only when
//     Config.CheckPlainTimestamps is set (DC-09 asks the check of encrypted
//     messages only).
//   - otherwise the reports go to the Handler; when it returns nil the frame
//     is acknowledged with ACK, or *ACK encrypted with the account's key
//     when the frame was encrypted. When it fails nothing is sent, and the
//     panel retries.
package sia
