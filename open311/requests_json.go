package open311

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/shequ/shequ/internal/jsonstr"
)

// appendJSON writes the requests as encoding/json would (HTML left
// unescaped, a newline at the end) without reflection: a listing of a
// thousand requests spent a quarter of its time in the encoder, most of it
// validating what NullString's MarshalJSON had written. TestRequestsJSON
// holds the two byte for byte equal.
func (rs Requests) appendJSON(b []byte) []byte {
	if rs == nil {
		return append(b, "null\n"...)
	}
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRequestJSON(b, &rs[i])
	}
	return append(b, "]\n"...)
}

// appendRequestJSON writes one request as encoding/json would.
func appendRequestJSON(b []byte, r *Request) []byte {
	b = append(b, `{"service_request_id":`...)
	b = appendJSONString(b, r.ServiceRequestID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, r.Status)
	b = append(b, `,"status_notes":`...)
	b = appendNullString(b, r.StatusNotes)
	b = append(b, `,"service_name":`...)
	b = appendJSONString(b, r.ServiceName)
	b = append(b, `,"service_code":`...)
	b = appendJSONString(b, r.ServiceCode)
	b = append(b, `,"description":`...)
	b = appendNullString(b, r.Description)
	b = append(b, `,"agency_responsible":`...)
	b = appendNullString(b, r.AgencyResponsible)
	b = append(b, `,"service_notice":`...)
	b = appendNullString(b, r.ServiceNotice)
	b = append(b, `,"requested_datetime":`...)
	b = appendJSONString(b, r.RequestedDatetime)
	b = append(b, `,"updated_datetime":`...)
	b = appendJSONString(b, r.UpdatedDatetime)
	b = append(b, `,"expected_datetime":`...)
	b = appendNullString(b, r.ExpectedDatetime)
	b = append(b, `,"address":`...)
	b = appendNullString(b, r.Address)
	b = append(b, `,"address_id":`...)
	b = appendNullString(b, r.AddressID)
	b = append(b, `,"zipcode":`...)
	b = appendNullString(b, r.Zipcode)
	b = append(b, `,"lat":`...)
	b = appendJSONFloat(b, r.Lat)
	b = append(b, `,"long":`...)
	b = appendJSONFloat(b, r.Long)
	b = append(b, `,"media_url":`...)
	b = appendNullString(b, r.MediaURL)
	b = append(b, '}')
	return b
}

func appendNullString(b []byte, s NullString) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, string(s))
}

// appendJSONString quotes s as the listing's encoder does: encoding/json
// with HTML left unescaped.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, false) }

func appendJSONFloat(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	// encoding/json writes exponents outside this range; leave those to it.
	if a := math.Abs(*f); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(*f) || math.IsInf(*f, 0) {
		q, err := json.Marshal(*f)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, q...)
	}
	return strconv.AppendFloat(b, *f, 'f', -1, 64)
}
