package testenv

import (
	"encoding/json"
	"strconv"
)

// Paging of list calls: MaxResults and NextToken.

// pageParams reads maxResults (1..limit, default 1000) and nextToken.
func pageParams(q map[string][]string, kind string, limit int) (max, start int, e *apiError) {
	if max, e = maxResults(q, limit); e != nil {
		return 0, 0, e
	}
	if t := first(q, "nextToken"); t != "" {
		n, ok := decodeToken(kind, t)
		if !ok {
			x := invalidParam("The NextToken is not valid for this operation; start again without it")
			return 0, 0, &x
		}
		start = n
	}
	return max, start, nil
}

// maxResults reads maxResults: 1..limit (Server.maxPage), default 1000.
func maxResults(q map[string][]string, limit int) (int, *apiError) {
	v := first(q, "maxResults")
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		x := invalidParam("maxResults must be an integer between 1 and " + strconv.Itoa(limit) + ", got " + strconv.Quote(v))
		return 0, &x
	}
	return n, nil
}

func first(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Tokens are opaque to clients: base64 of a versioned JSON object.
func encodeToken(kind string, idx int) string {
	b, _ := json.Marshal(struct {
		V int    `json:"v"`
		K string `json:"k"`
		I int    `json:"i"`
	}{1, kind, idx})
	return b64.EncodeToString(b)
}

func decodeToken(kind, tok string) (int, bool) {
	b, err := b64.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	var t struct {
		V int    `json:"v"`
		K string `json:"k"`
		I int    `json:"i"`
	}
	if json.Unmarshal(b, &t) != nil || t.V != 1 || t.K != kind || t.I < 0 {
		return 0, false
	}
	return t.I, true
}
