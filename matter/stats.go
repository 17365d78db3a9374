package matter

// CategoryFigures are one category's matters over a period: how many came
// in, how many are handled, how many missed their due time (still open
// past it, or resolved after it) and how residents rated the handling.
type CategoryFigures struct {
	Category  string `json:"category"`
	Name      string `json:"name"`
	NameEn    string `json:"name_en,omitempty"`
	Submitted int    `json:"submitted"`
	Resolved  int    `json:"resolved"`
	Overdue   int    `json:"overdue"`
	Rated     int    `json:"rated"`
	// RatingSum is the sum of the ratings (1 to 5) given.
	RatingSum int `json:"rating_sum"`
}

// Satisfaction is the mean rating, 0 when nobody rated.
func (c CategoryFigures) Satisfaction() float64 {
	if c.Rated == 0 {
		return 0
	}
	return float64(c.RatingSum) / float64(c.Rated)
}
