// Package demo builds the demo community: a synthetic Baosheng East Road
// (宝圣东路社区) shaped like the community in ../shared/docs/mission.md —
// 14 grids, resettlement buildings, a few hundred residents, 112 cameras,
// 12 WiFi access points, 14 loudspeakers, alarm panels on the ground and
// first floors, the eight associations and the demo accounts. Every person
// in it is invented; the generator is seeded so every load is the same.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// Code is the demo community's code; its presence means the demo is loaded.
const Code = "baosheng-east"

// Store is where the demo goes.
type Store = *sqlstore.Store

// Result says what Load did.
type Result struct {
	Loaded      bool // false when the demo was there already
	CommunityID int64
	Password    string
	People      int
	Homes       int
	Devices     int
}

// Accounts are the demo's sign-in names, by what they show.
var Accounts = []string{"director", "operator", "grid01", "resident01", "police", "hr-partner", "broadcaster", "assoc-jiuye"}

// AccountList returns the demo accounts as one line.
func AccountList() string { return strings.Join(Accounts, ", ") }

// Load puts the demo community into st unless it is there. It runs in one
// transaction: the demo is there whole or not at all. With an empty
// password a random one is made and returned. When the demo is there
// already and a password is given, the demo accounts get it.
func Load(ctx context.Context, st Store, password string) (Result, error) {
	return LoadWith(ctx, st, password, Options{})
}

// Options change what Load does, for tests; the zero value is Load.
type Options struct {
	// HashPassword hashes the demo accounts' password instead of
	// auth.HashPassword. Tests give a cheap one: every sign-in checks
	// the hash, and the real one costs a tenth of a second of CPU and
	// 64 MiB on purpose. Never set outside tests.
	HashPassword func(password string) (string, error)
}

// LoadWith is Load with options.
func LoadWith(ctx context.Context, st Store, password string, o Options) (Result, error) {
	if o.HashPassword == nil {
		o.HashPassword = auth.HashPassword
	}
	if c, err := st.CommunityByCode(ctx, Code); err == nil {
		res := Result{CommunityID: c.ID}
		// A password the accounts have already is not hashed again
		// (unless its hash has older parameters): that costs every start.
		if password != "" && (!st.PasswordMatches(ctx, Accounts[0], password) || st.PasswordNeedsRehash(ctx, Accounts[0])) {
			return res, setPasswords(ctx, st, password, o.HashPassword)
		}
		return res, nil
	} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
		return Result{}, err
	}
	if password == "" {
		password = strings.ReplaceAll(auth.NewToken()[:16], "-", "x")
	}
	if err := auth.CheckPasswordStrength(password); err != nil {
		return Result{}, fmt.Errorf("SHEQU_DEMO_PASSWORD: %w", err)
	}
	b := &builder{st: nil, rng: rand.New(rand.NewPCG(2024, 1130))}
	err := st.Atomic(ctx, func(tx *sqlstore.Store) error {
		b.st = tx
		if err := b.build(ctx); err != nil {
			return err
		}
		return setPasswords(ctx, tx, password, o.HashPassword)
	})
	if err != nil {
		if shequ.ErrorCode(err) == shequ.ECONFLICT {
			// Another process loaded it at the same moment.
			if c, err2 := st.CommunityByCode(ctx, Code); err2 == nil {
				return Result{CommunityID: c.ID}, nil
			}
		}
		return Result{}, err
	}
	return Result{Loaded: true, CommunityID: b.community.ID, Password: password, People: b.people, Homes: b.homes, Devices: b.devices}, nil
}

func setPasswords(ctx context.Context, st Store, password string, hashPassword func(string) (string, error)) error {
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	names := append([]string{}, Accounts...)
	for g := 2; g <= grids; g++ {
		names = append(names, fmt.Sprintf("grid%02d", g))
	}
	for _, a := range associations[1:] {
		names = append(names, "assoc-"+a.key)
	}
	return st.SetPasswordHash(ctx, names, hash)
}

const (
	grids             = 14
	buildingsPerGrid  = 2
	floorsPerBuilding = 6
	entrances         = 2
	doorsPerLanding   = 2
)

var associations = []struct{ key, name, nameEn string }{
	{"jiuye", "就业协会", "Employment association"},
	{"tiaojie", "调解协会", "Mediation association"},
	{"jiazheng", "家政协会", "Housekeeping association"},
	{"wenti", "宣传文体协会", "Publicity, culture and sports association"},
	{"weiji", "卫计协会", "Health and family planning association"},
	{"bangfu", "帮扶协会", "Assistance association"},
	{"bangjiao", "帮教协会", "Help-education association"},
	{"qunfang", "群防协会", "Mass prevention association"},
}

// Synthetic names: common surnames and given-name characters, combined at
// random, so no real person is described.
var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林")
	givenChars = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国玉珍德福寿春梅")
)

type builder struct {
	st        Store
	rng       *rand.Rand
	everyone  auth.Scope
	community community.Community
	grids     []community.Grid
	buildings []community.Building
	people    int
	homes     int
	devices   int
	seq       int
	// residentHome is the ground-floor home of resident01.
	residentHome   community.Home
	residentPerson int64
	elderly        []community.Person
	unemployed     []community.Person
	residents      []community.Person
}

func (b *builder) name() string {
	n := string(surnames[b.rng.IntN(len(surnames))]) + string(givenChars[b.rng.IntN(len(givenChars))])
	if b.rng.IntN(2) == 0 {
		n += string(givenChars[b.rng.IntN(len(givenChars))])
	}
	return n
}

// phone returns a number from a block no operator hands out to people.
func (b *builder) phone() string {
	b.seq++
	return fmt.Sprintf("1990000%04d", b.seq)
}

// idNumber returns a well-formed but invented ID number for a birth date.
func (b *builder) idNumber(birth string, female bool) string {
	seq := b.rng.IntN(500)*2 + 1
	if female {
		seq--
	}
	body := "500112" + strings.ReplaceAll(birth, "-", "") + fmt.Sprintf("%03d", seq%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * weights[i]
	}
	return body + string(community.IDCheckChar(sum))
}

func (b *builder) birth(minAge, maxAge int) string {
	year := 2026 - minAge - b.rng.IntN(maxAge-minAge+1)
	return fmt.Sprintf("%04d-%02d-%02d", year, 1+b.rng.IntN(12), 1+b.rng.IntN(28))
}

// Centre of the synthetic site; buildings are laid on a grid around it.
const baseLat, baseLng = 29.7200, 106.6300

func (b *builder) build(ctx context.Context) error {
	b.everyone = auth.Scope{{}}
	b.community = community.Community{Code: Code, Name: "宝圣东路社区", NameEn: "Baosheng East Road Community",
		Timezone: "Asia/Shanghai", Phone: "023-00000000", Address: "宝圣东路 (demo)"}
	if err := b.st.CreateCommunity(ctx, b.everyone, &b.community); err != nil {
		return fmt.Errorf("community: %w", err)
	}
	c := b.community.ID
	if err := b.staff(ctx); err != nil {
		return err
	}
	for g := 1; g <= grids; g++ {
		grid := community.Grid{CommunityID: c, Code: fmt.Sprintf("G%02d", g), Name: fmt.Sprintf("第%d网格", g)}
		if err := b.st.CreateGrid(ctx, b.everyone, &grid); err != nil {
			return fmt.Errorf("grid %d: %w", g, err)
		}
		b.grids = append(b.grids, grid)
	}
	letters := []rune("ABCDEFGHJKLMNPQRSTUVWXYZ")
	n := 0
	for gi, grid := range b.grids {
		for k := 0; k < buildingsPerGrid; k++ {
			name := fmt.Sprintf("%c栋", letters[n%len(letters)])
			if n >= len(letters) {
				name = fmt.Sprintf("%c%d栋", letters[n%len(letters)], n/len(letters)+1)
			}
			row, col := n/7, n%7
			bd := community.Building{CommunityID: c, GridID: grid.ID, Name: name, Floors: floorsPerBuilding,
				Address: fmt.Sprintf("宝圣东路%d号%s", 100+n, name),
				Lat:     baseLat + float64(row)*0.0009, Lng: baseLng + float64(col)*0.0011}
			if err := b.st.CreateBuilding(ctx, b.everyone, &bd); err != nil {
				return fmt.Errorf("building %s: %w", name, err)
			}
			b.buildings = append(b.buildings, bd)
			if err := b.homesOf(ctx, bd, gi == 0 && k == 0); err != nil {
				return err
			}
			n++
		}
	}
	if err := b.devicesOf(ctx); err != nil {
		return err
	}
	if err := b.camerasOf(ctx); err != nil {
		return err
	}
	if err := b.broadcastOf(ctx); err != nil {
		return err
	}
	if err := b.accessOf(ctx); err != nil {
		return err
	}
	if err := b.accounts(ctx); err != nil {
		return err
	}
	if err := b.alarmOf(ctx); err != nil {
		return err
	}
	if err := b.associationsOf(ctx); err != nil {
		return err
	}
	if err := b.contentOf(ctx); err != nil {
		return err
	}
	if err := b.matterCategories(ctx); err != nil {
		return err
	}
	if err := b.ledgers(ctx); err != nil {
		return err
	}
	if err := b.services(ctx); err != nil {
		return err
	}
	if err := b.sitePlanOf(ctx); err != nil {
		return err
	}
	return b.mediationAndRelief(ctx)
}

func (b *builder) homesOf(ctx context.Context, bd community.Building, first bool) error {
	for floor := 1; floor <= floorsPerBuilding; floor++ {
		for e := 1; e <= entrances; e++ {
			for d := 1; d <= doorsPerLanding; d++ {
				h := community.Home{BuildingID: bd.ID, Entrance: fmt.Sprintf("%d单元", e), Floor: floor, Door: fmt.Sprintf("%d-%d%02d", e, floor, d)}
				if err := b.st.CreateHome(ctx, b.everyone, &h); err != nil {
					return fmt.Errorf("home %s %s: %w", bd.Name, h.Door, err)
				}
				b.homes++
				if floor <= 2 {
					panel := community.Device{CommunityID: bd.CommunityID, Kind: community.DeviceAlarmPanel, HomeID: h.ID,
						Name: fmt.Sprintf("报警主机 %s %s", bd.Name, h.Door), Serial: fmt.Sprintf("PNL-%05d", h.ID), Status: community.DeviceOnline,
						Location: fmt.Sprintf("%s %s", bd.Name, h.Door)}
					if err := b.st.CreateDevice(ctx, b.everyone, &panel); err != nil {
						return fmt.Errorf("panel: %w", err)
					}
					b.devices++
				}
				resident01 := first && floor == 1 && e == 1 && d == 1
				// About half the homes are lived in, as in a resettlement
				// estate where many flats are let or empty.
				if resident01 || b.rng.IntN(100) < 45 {
					if err := b.household(ctx, h, resident01); err != nil {
						return err
					}
				}
				if resident01 {
					b.residentHome = h
				}
			}
		}
	}
	return nil
}

func (b *builder) household(ctx context.Context, h community.Home, resident01 bool) error {
	head := b.name()
	hh := community.Household{HomeID: h.ID, Name: head + "户"}
	if err := b.st.CreateHousehold(ctx, b.everyone, &hh); err != nil {
		return fmt.Errorf("household: %w", err)
	}
	size := 1 + b.rng.IntN(4)
	alone := !resident01 && b.rng.IntN(100) < 12
	if alone {
		size = 1
	}
	for i := 0; i < size; i++ {
		female := b.rng.IntN(2) == 0
		p := community.Person{HouseholdID: hh.ID, Name: head, Relation: "户主", Gender: "male", Phone: b.phone(), Tags: []string{}}
		if female {
			p.Gender = "female"
		}
		switch {
		case i == 0 && alone:
			p.BirthDate = b.birth(65, 88)
			p.Tags = []string{community.TagElderly, community.TagLivingAlone}
		case i == 0:
			p.BirthDate = b.birth(30, 70)
		case i == 1:
			p.Name, p.Relation, p.BirthDate = b.name(), "配偶", b.birth(30, 70)
		default:
			p.Name, p.Relation, p.BirthDate = b.name(), "子女", b.birth(3, 30)
		}
		if p.Age(b.clockYear()) >= 60 && !contains(p.Tags, community.TagElderly) {
			p.Tags = append(p.Tags, community.TagElderly)
		}
		if age := p.Age(b.clockYear()); age >= 18 && age < 60 && b.rng.IntN(100) < 15 {
			p.Tags = append(p.Tags, community.TagUnemployed)
		}
		p.IDNumber = b.idNumber(p.BirthDate, female)
		p.Contacts = []community.Contact{{Name: b.name(), Phone: b.phone(), Relation: "子女"}}
		if err := b.st.CreatePerson(ctx, b.everyone, &p); err != nil {
			return fmt.Errorf("person: %w", err)
		}
		b.people++
		b.residents = append(b.residents, p)
		if alone {
			b.elderly = append(b.elderly, p)
		}
		if contains(p.Tags, community.TagUnemployed) {
			b.unemployed = append(b.unemployed, p)
		}
		if resident01 && i == 0 {
			b.residentPerson = p.ID
		}
	}
	return nil
}

func contains(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}
