package transfer

import (
	"fmt"
	"strings"

	"github.com/shequ/shequ/community"
)

// Column is one column of a layout.
type Column struct {
	// Key is the column's stable name: the English header, the field of
	// row errors and the key of Row.Values.
	Key string
	// Zh is the Chinese header, the one written by default: the people
	// who keep the register read Chinese.
	Zh string
	// Aliases are more headers accepted on import, for files people made
	// by hand or took from another system.
	Aliases []string
	// Required columns must be in the file; their cells may still be
	// empty where the row allows it.
	Required bool
	// Numeric columns are written to XLSX as numbers so that a
	// spreadsheet can sort and sum them.
	Numeric bool
}

// Header returns the column's header in lang.
func (c Column) Header(lang Lang) string {
	if lang == English {
		return c.Key
	}
	return c.Zh
}

var layouts = map[string][]Column{
	KindHomes: {
		{Key: "building", Zh: "楼栋", Aliases: []string{"building name", "楼栋名称", "楼号", "栋"}, Required: true},
		{Key: "entrance", Zh: "单元", Aliases: []string{"unit", "单元号"}},
		{Key: "floor", Zh: "楼层", Aliases: []string{"层", "层数"}, Required: true, Numeric: true},
		{Key: "door", Zh: "门牌号", Aliases: []string{"door number", "room", "房号", "房间号", "门牌"}, Required: true},
	},
	KindPeople: {
		{Key: "building", Zh: "楼栋", Aliases: []string{"building name", "楼栋名称", "楼号", "栋"}},
		{Key: "door", Zh: "门牌号", Aliases: []string{"door number", "room", "房号", "房间号", "门牌"}},
		{Key: "name", Zh: "姓名", Aliases: []string{"full name", "名字"}, Required: true},
		{Key: "gender", Zh: "性别", Aliases: []string{"sex"}},
		{Key: "phone", Zh: "电话", Aliases: []string{"mobile", "phone number", "手机", "手机号", "手机号码", "联系电话", "电话号码"}},
		{Key: "id_number", Zh: "身份证号", Aliases: []string{"id no", "id card", "身份证", "身份证号码", "公民身份号码"}},
		{Key: "birth_date", Zh: "出生日期", Aliases: []string{"birthday", "date of birth", "birth", "生日"}},
		{Key: "relation", Zh: "与户主关系", Aliases: []string{"relationship", "关系"}},
		{Key: "tags", Zh: "标签", Aliases: []string{"tag", "类别", "人员类别"}},
		{Key: "emergency_name", Zh: "紧急联系人", Aliases: []string{"emergency contact", "紧急联系人姓名"}},
		{Key: "emergency_phone", Zh: "紧急联系人电话", Aliases: []string{"emergency contact phone", "紧急联系电话"}},
		{Key: "emergency_relation", Zh: "紧急联系人关系", Aliases: []string{"emergency contact relation"}},
	},
	KindDevices: {
		{Key: "kind", Zh: "类型", Aliases: []string{"type", "device type", "设备类型"}, Required: true},
		{Key: "name", Zh: "名称", Aliases: []string{"device name", "设备名称"}, Required: true},
		{Key: "serial", Zh: "序列号", Aliases: []string{"serial number", "sn", "设备编号", "编号"}},
		{Key: "address", Zh: "网络地址", Aliases: []string{"url", "ip", "ip address", "ip地址"}},
		{Key: "location", Zh: "位置", Aliases: []string{"place", "安装位置", "安装地址", "位置描述"}},
		{Key: "lat", Zh: "纬度", Aliases: []string{"latitude"}, Numeric: true},
		{Key: "lng", Zh: "经度", Aliases: []string{"lon", "long", "longitude"}, Numeric: true},
		{Key: "status", Zh: "状态", Aliases: []string{"state"}},
		{Key: "building", Zh: "楼栋", Aliases: []string{"building name", "楼栋名称", "楼号", "栋"}},
		{Key: "door", Zh: "门牌号", Aliases: []string{"door number", "room", "房号", "房间号", "门牌"}},
		{Key: "grid", Zh: "网格编号", Aliases: []string{"grid code", "网格", "网格代码"}},
	},
}

// headerIndex maps each kind's normalised headers to column keys.
var headerIndex = map[string]map[string]string{}

func init() {
	for kind, cols := range layouts {
		idx := map[string]string{}
		for _, c := range cols {
			for _, h := range append([]string{c.Key, c.Zh}, c.Aliases...) {
				n := normalizeHeader(h)
				if other, ok := idx[n]; ok && other != c.Key {
					panic(fmt.Sprintf("transfer: header %q of %s names both %s and %s", h, kind, other, c.Key))
				}
				idx[n] = c.Key
			}
		}
		headerIndex[kind] = idx
	}
}

// Columns returns the layout of kind.
func Columns(kind string) []Column { return layouts[kind] }

// Headers returns the headers of kind in lang, in column order.
func Headers(kind string, lang Lang) []string { return headersOf(layouts[kind], lang) }

func headersOf(cols []Column, lang Lang) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Header(lang)
	}
	return out
}

// normalizeHeader folds the ways people write one header ("ID number",
// "id_number", "身份证号：", "*姓名") to one string.
func normalizeHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '*', '.', ':', '：', '\u3000', '\u00a0':
			return -1
		}
		return r
	}, h)
}

// columnOf returns the key of the column a header names, "" for a header
// of no column. "姓名 (name)" and "姓名（必填）" are understood too.
func columnOf(kind, header string) string {
	idx := headerIndex[kind]
	if k, ok := idx[normalizeHeader(header)]; ok {
		return k
	}
	h := strings.NewReplacer("（", "(", "）", ")").Replace(header)
	if open := strings.IndexByte(h, '('); open > 0 {
		if k, ok := idx[normalizeHeader(h[:open])]; ok {
			return k
		}
		inner := strings.TrimSuffix(h[open+1:], ")")
		if k, ok := idx[normalizeHeader(inner)]; ok {
			return k
		}
	}
	return ""
}

// columnIndex is the position of key in kind's layout; faults of other
// fields sort after the columns.
func columnIndex(kind, key string) int {
	for i, c := range layouts[kind] {
		if c.Key == key {
			return i
		}
	}
	return len(layouts[kind])
}

// describe names a column for a message, in both languages.
func describe(kind, key string) string {
	for _, c := range layouts[kind] {
		if c.Key == key {
			return c.Zh + " (" + c.Key + ")"
		}
	}
	return key
}

// ColumnFor maps a field named by a community type's Validate, or by the
// store, to the column of kind that holds it, so that a fault points at a
// cell the user can see.
func ColumnFor(kind, field string) string {
	switch {
	case field == "building_id":
		return "building"
	case field == "home_id":
		return "door"
	case field == "grid_id":
		return "grid"
	case field == "household_id":
		return "door"
	case strings.HasPrefix(field, "emergency_contacts["):
		switch {
		case strings.HasSuffix(field, ".name"):
			return "emergency_name"
		case strings.HasSuffix(field, ".phone"):
			return "emergency_phone"
		}
		return "emergency_relation"
	}
	for _, c := range layouts[kind] {
		if c.Key == field {
			return field
		}
	}
	return ""
}

// label is one coded value with the words people write for it.
type label struct {
	code string
	zh   string
	more []string // accepted on import as well
}

var (
	genderLabels = []label{
		{code: "male", zh: "男", more: []string{"m", "男性"}},
		{code: "female", zh: "女", more: []string{"f", "女性"}},
	}
	tagLabels = []label{
		{code: community.TagLivingAlone, zh: "独居", more: []string{"独居老人", "living alone"}},
		{code: community.TagElderly, zh: "老年人", more: []string{"老人", "高龄", "高龄老人"}},
		{code: community.TagUnemployed, zh: "失业", more: []string{"失业人员", "待业"}},
		{code: community.TagDisability, zh: "残疾", more: []string{"残疾人", "残障"}},
		{code: community.TagLowIncome, zh: "低收入", more: []string{"低保", "低保户", "low income"}},
	}
	kindLabels = []label{
		{code: community.DeviceCamera, zh: "摄像机", more: []string{"摄像头", "监控", "监控摄像头"}},
		{code: community.DeviceWiFiAP, zh: "无线AP", more: []string{"ap", "wifi", "无线接入点"}},
		{code: community.DeviceSpeaker, zh: "广播音箱", more: []string{"音箱", "喇叭", "广播", "loudspeaker"}},
		{code: community.DeviceAlarmPanel, zh: "报警主机", more: []string{"报警器", "alarm panel"}},
		{code: community.DeviceSensor, zh: "传感器", more: []string{"探测器"}},
		{code: community.DeviceDoorController, zh: "门禁", more: []string{"门禁控制器", "door controller"}},
	}
	statusLabels = []label{
		{code: community.DeviceUnknown, zh: "未知"},
		{code: community.DeviceOnline, zh: "在线"},
		{code: community.DeviceOffline, zh: "离线"},
		{code: community.DeviceDegraded, zh: "异常", more: []string{"故障", "fault"}}, // "fault" was its name before health was measured
	}
)

// codeOf returns the code a cell means and whether it is one of labels.
func codeOf(labels []label, cell string) (string, bool) {
	c := strings.ToLower(strings.TrimSpace(cell))
	for _, l := range labels {
		if c == l.code || c == l.zh || strings.ReplaceAll(c, " ", "_") == l.code {
			return l.code, true
		}
		for _, m := range l.more {
			if c == m {
				return l.code, true
			}
		}
	}
	return "", false
}

// textOf returns how code is written in lang; codes of no label are
// written as they are.
func textOf(labels []label, code string, lang Lang) string {
	if lang == English {
		return code
	}
	for _, l := range labels {
		if l.code == code {
			return l.zh
		}
	}
	return code
}

// codes lists the codes of labels with their Chinese words, for messages.
func codes(labels []label) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.code + " (" + l.zh + ")"
	}
	return strings.Join(parts, ", ")
}
