package sia

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

var fuzzKey = []byte("AAAAAAAAAAAAAAAA")

// frameSeeds are real and built frames: every shape the parser handles.
func frameSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, f := range publicFrames {
		seeds = append(seeds, []byte("\n"+f.frame+"\r"))
	}
	for _, f := range pysiaalarmFrames {
		seeds = append(seeds, []byte(f.frame))
	}
	for _, body := range []string{
		`"SIA-DCS"0042R12L3#ABC1[#ABC1|Nri1/BA01/BA02^Front^|AText][IDoor][X1]_10:00:00,01-31-2026`,
		`"ADM-CID"0001L0#1234[#1234|1130 01 003]`,
		`"NULL"0001L#1234[]`,
		`"SIA-DCS"0001#1234[#1234|NBA1_10:00:00,01-31-2026`,
		`"SIA-DCX"0001L0#1234[]`,
		`"SIA-DCS"0005L0#AAA[#AAA|NBA1^Tür Küche^]`,
	} {
		seeds = append(seeds, wrap(body))
	}
	seeds = append(seeds,
		encryptedFrame(t, IDSIADCS, "0001L0#1234", fuzzKey, "#1234|Nri1/BA01]_10:00:00,01-31-2026"),
		encryptedFrame(t, IDNULL, "0002R1L0#1234", fuzzKey, "]_10:00:00,01-31-2026"),
		encryptedFrame(t, IDADMCID, "0003L0#1234", fuzzKey, "#1234|3401 01 003][IBob]_10:00:00,01-31-2026"),
	)
	body := `"SIA-DCS"0001L0#7[#7|NRP]`
	crc := CRC16([]byte(body))
	seeds = append(seeds, append([]byte{'\n', byte(crc >> 8), byte(crc)}, wrap(body)[5:]...))
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range frameSeeds(f) {
		f.Add(s)
	}
	block, _ := NewCipher(fuzzKey)
	at := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		var fe *FrameError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("error %v is not a *FrameError", err)
		}
		if errors.Is(err, ErrCorrupt) {
			return
		}
		// Intact frames: the header is there and answers can be built.
		if fr.Seq == "" || strings.Trim(fr.Seq, "0123456789") != "" {
			t.Fatalf("sequence %q", fr.Seq)
		}
		if fr.Length != len(fr.Raw)-8 && fr.Length != len(fr.Raw)-6 && fr.Length != len(fr.Raw)-7 && fr.Length != len(fr.Raw)-5 {
			t.Fatalf("length %d for %d bytes", fr.Length, len(fr.Raw))
		}
		for _, ans := range [][]byte{AppendACK(nil, &fr, nil, at), AppendACK(nil, &fr, block, at), AppendDUH(nil, &fr), AppendNAK(nil, &fr, at)} {
			g, err := Parse(ans)
			if errors.Is(err, ErrCorrupt) {
				t.Fatalf("answer %q does not parse: %v", ans, err)
			}
			if !bytes.HasPrefix(ans, []byte("\n")) || !bytes.HasSuffix(ans, []byte("\r")) {
				t.Fatalf("answer %q not framed", ans)
			}
			if g.ID != "NAK" && (g.Seq != fr.Seq || g.Account != fr.Account) {
				t.Fatalf("answer %q addressed to %s/%s, frame was %s/%s", ans, g.Account, g.Seq, fr.Account, fr.Seq)
			}
		}
		if fr.Encrypted {
			if fr.Decrypt(block) != nil {
				return
			}
		}
		checkReports(t, AppendReports(nil, &fr))
	})
}

func checkReports(t *testing.T, rs []alarm.Report) {
	t.Helper()
	if len(rs) == 0 {
		t.Fatal("no report")
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if len(r.Code) != 2 || r.Kind == "" || r.Source != alarm.SourceSIA {
			t.Fatalf("report %+v", r)
		}
		if r.Restore && (r.Kind == alarm.KindOpening || r.Kind == alarm.KindClosing || r.Kind == alarm.KindPartialArm) {
			t.Fatalf("opening/closing with Restore: %+v", r)
		}
		if r.Account != strings.ToUpper(r.Account) {
			t.Fatalf("account %q not in upper case, as panels are stored", r.Account)
		}
		if seen[r.Fingerprint] {
			t.Fatalf("two reports of one frame share fingerprint %q", r.Fingerprint)
		}
		seen[r.Fingerprint] = true
	}
}

// FuzzDecodeData fuzzes the data block parsers (SIA DC-03 and Contact ID)
// and the decryption of payloads.
func FuzzDecodeData(f *testing.F) {
	for _, d := range []string{
		"#1234|Nri1/BA01", "#1234|Nri2/BA01/BA02/BR03", "#123456|Nri1CL0^VX FRONTE ^", "|Nri2/JC12",
		"Nri1/WA000", "#006969|Nri04/OP001NM", "#1|NCG3", "#1|NL01", "#1|Nid005/OP", "#1|Nti10:15/ri1/BA01",
		"#1|Nri1/PA1|AHelp me", "#1|AJust saying", "", "#1|N12 ?", "#1|Nri1^Hall^/BA2^Door^/", "#1|O", "N/", "^",
		"#1234|1130 01 003", "#4F39|3401 01 057", "#1|113001003", "#1|R130 01 003", "#9999|1900 00 001", "#1|6",
	} {
		f.Add(byte(0), d)
		f.Add(byte(1), d)
		f.Add(byte(2), d)
	}
	block, _ := NewCipher(fuzzKey)
	f.Fuzz(func(t *testing.T, kind byte, data string) {
		fr := Frame{ID: []string{IDSIADCS, IDADMCID, IDNULL}[int(kind)%3], Account: "1234", Seq: "0001", Data: data}
		checkReports(t, AppendReports(nil, &fr))
		// The same text as a ciphertext must not break decryption.
		enc := Frame{ID: IDSIADCS, Encrypted: true, Cipher: data}
		if enc.Decrypt(block) == nil {
			checkReports(t, AppendReports(nil, &enc))
		}
	})
}

// FuzzStream fuzzes the splitting of a TCP byte stream into frames.
func FuzzStream(f *testing.F) {
	var all []byte
	for _, s := range frameSeeds(f) {
		f.Add(s)
		all = append(all, s...)
	}
	f.Add(all)
	f.Add([]byte("\n\r\x00\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rest := b
		for steps := 0; len(rest) > 0; steps++ {
			if steps > len(b) {
				t.Fatal("no progress")
			}
			frame, skip, next, ok := nextFrame(rest)
			if !ok {
				if skip < 0 || skip > len(rest) {
					t.Fatalf("skip %d of %d", skip, len(rest))
				}
				return
			}
			if next <= 0 || next > len(rest) || len(frame) > next {
				t.Fatalf("next %d, frame %d, of %d", next, len(frame), len(rest))
			}
			_, _ = Parse(frame)
			rest = rest[next:]
		}
	})
}
