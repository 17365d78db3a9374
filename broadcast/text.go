package broadcast

import (
	"regexp"
	"strconv"
	"strings"
)

// Speech synthesis reads digits as it pleases: a phone number as one large
// number, 2026年 as two thousand and twenty-six, 1,130 as two numbers. So
// text is rewritten the way an announcer reads it before it is spoken:
// dates, times, money, percentages, phone and room numbers and building
// letters. Rewrite does it; the rules are in the order they apply, the
// more particular first.

var (
	digitWords = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	// A phone number reads 1 as 幺, which cannot be misheard as 七.
	phoneWords = []string{"零", "幺", "二", "三", "四", "五", "六", "七", "八", "九"}
	// A year reads 0 as 〇.
	yearWords = []string{"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
)

type rewriteRule struct {
	re *regexp.Regexp
	fn func(m []string) string
}

var rewriteRules = []rewriteRule{
	// Phone numbers: a mobile number, a number with an area code, or the
	// short numbers after 拨打, 电话 or 热线 (110, 12345).
	{regexp.MustCompile(`\d{3,4}-\d{7,8}|\d{3}-\d{4}-\d{4}|1[3-9]\d{9}|\d{7,8}`), func(m []string) string {
		return spellDigits(strings.ReplaceAll(m[0], "-", ""), phoneWords)
	}},
	{regexp.MustCompile(`(拨打|电话|热线|致电)([:：]?\s*)(\d{3,5})(\D|$)`), func(m []string) string {
		return m[1] + m[2] + spellDigits(m[3], phoneWords) + m[4]
	}},
	// Years, digit by digit: 2026年 二〇二六年.
	{regexp.MustCompile(`(\d{4})\s*年`), func(m []string) string { return spellDigits(m[1], yearWords) + "年" }},
	// Times: 9:30 九点三十分, 9:05 九点零五分, 14:00 十四点, 2:00 两点.
	{regexp.MustCompile(`(\d{1,2})[:：](\d{2})`), func(m []string) string {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		if h > 24 || mi > 59 {
			return m[0]
		}
		hour := cardinal(int64(h))
		if h == 2 {
			hour = "两"
		}
		switch {
		case mi == 0:
			return hour + "点"
		case mi < 10:
			return hour + "点零" + digitWords[mi] + "分"
		}
		return hour + "点" + cardinal(int64(mi)) + "分"
	}},
	// Money: 1,130元 一千一百三十元, 3.5元 三点五元.
	{regexp.MustCompile(`(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(元|块|万元|亿元)`), func(m []string) string {
		return number(m[1], m[2]) + m[3]
	}},
	// Percentages: 50% 百分之五十.
	{regexp.MustCompile(`(\d+)(?:\.(\d+))?\s*[%％]`), func(m []string) string { return "百分之" + number(m[1], m[2]) }},
	// Room numbers, digit by digit: 301室 三零一室.
	{regexp.MustCompile(`(\d{3,4})\s*(室|房)`), func(m []string) string { return spellDigits(m[1], digitWords) + m[2] }},
	// Building letters stand apart so they are read as letters: B栋 B 栋.
	{regexp.MustCompile(`([A-Za-z])\s*(栋|幢|座|号楼|单元|区)`), func(m []string) string { return strings.ToUpper(m[1]) + " " + m[2] }},
	// Two of something is 两: 2起 两起, 2栋 两栋.
	{regexp.MustCompile(`(^|\D)2\s*(个|位|起|次|名|人|栋|辆|只|天|周|年|小时|分钟|户|家|条|件|趟)`), func(m []string) string { return m[1] + "两" + m[2] }},
	// Any other number: 514 五百一十四, 1,130 一千一百三十, 2.5 二点五.
	{regexp.MustCompile(`(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?`), func(m []string) string { return number(m[1], m[2]) }},
}

// Rewrite returns text as it should be read aloud in Mandarin or
// Cantonese: no digits left, each number in the words an announcer uses.
func Rewrite(text string) string {
	for _, r := range rewriteRules {
		text = r.re.ReplaceAllStringFunc(text, func(s string) string {
			return r.fn(r.re.FindStringSubmatch(s))
		})
	}
	return text
}

func spellDigits(s string, words []string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteString(words[c-'0'])
		}
	}
	return b.String()
}

// number reads an integer part (commas allowed) and a fractional part.
func number(whole, frac string) string {
	whole = strings.ReplaceAll(whole, ",", "")
	var out string
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(whole) > 12 || (len(whole) > 1 && whole[0] == '0') {
		out = spellDigits(whole, digitWords)
	} else {
		out = cardinal(n)
	}
	if frac != "" {
		out += "点" + spellDigits(frac, digitWords)
	}
	return out
}

// cardinal reads n (below 10^16) as a number: 1130 一千一百三十, 10 十,
// 100010 十万零一十.
func cardinal(n int64) string {
	if n == 0 {
		return "零"
	}
	if n < 0 {
		return "负" + cardinal(-n)
	}
	units := []string{"", "万", "亿", "万亿"}
	var groups []int64
	for v := n; v > 0; v /= 10000 {
		groups = append(groups, v%10000)
	}
	var b strings.Builder
	zero := false // a zero waits to be read before the next digit
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			zero = b.Len() > 0
			continue
		}
		if b.Len() > 0 && g < 1000 {
			zero = true
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteString(group(g))
		b.WriteString(units[i])
	}
	s := b.String()
	// 10 to 19 at the head read 十, 十一, not 一十, 一十一.
	if strings.HasPrefix(s, "一十") {
		s = strings.TrimPrefix(s, "一")
	}
	return s
}

// group reads 1 to 9999.
func group(g int64) string {
	places := []string{"千", "百", "十", ""}
	div := int64(1000)
	var b strings.Builder
	zero, started := false, false
	for _, p := range places {
		d := g / div % 10
		div /= 10
		if d == 0 {
			zero = started
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteString(digitWords[d] + p)
		started = true
	}
	return b.String()
}
