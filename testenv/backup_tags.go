package testenv

import (
	"sort"
	"strings"
)

// Tags on vaults and recovery points.

// taggable finds the tag map of a vault or recovery point by ARN.
func (s *Server) taggable(a *account, arn string) (*map[string]string, *apiError) {
	if strings.Contains(arn, ":backup-vault:") {
		name := arn[strings.LastIndex(arn, ":")+1:]
		if v := a.vaults[name]; v != nil && v.Arn == arn {
			return &v.Tags, nil
		}
	} else if rp := a.rpIndex[arn]; rp != nil && !rp.Deleted {
		if !typeInfo(rp.ResourceType).Taggable {
			e := invalidParam("Resource type " + rp.ResourceType + " does not support tagging through AWS Backup; tag " + arn + " with the service that owns it")
			return nil, &e
		}
		return &rp.Tags, nil
	}
	e := notFound("Resource " + arn + " does not exist in account " + a.id)
	return nil, &e
}

func (s *Server) listTags(c *call) {
	arn := c.r.PathValue("arn")
	if e := c.authorize("backup:ListTags", arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	tags, e := s.taggable(c.acct(), arn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	keys := make([]string, 0, len(*tags))
	for k := range *tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	max, start, pe := pageParams(c.r.URL.Query(), "tags", 1000)
	if pe != nil {
		c.fail(*pe, false)
		return
	}
	out := struct {
		Tags      map[string]string `json:"Tags"`
		NextToken string            `json:"NextToken,omitempty"`
	}{Tags: map[string]string{}}
	i := start
	for ; i < len(keys) && len(out.Tags) < max; i++ {
		out.Tags[keys[i]] = (*tags)[keys[i]]
	}
	if i < len(keys) {
		out.NextToken = encodeToken("tags", i)
	}
	c.reply(out)
}

func (s *Server) tagResource(c *call) {
	var in struct{ Tags map[string]string }
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	if len(in.Tags) == 0 {
		c.fail(missingParam("Tags is required"), false)
		return
	}
	arn := c.r.PathValue("arn")
	if e := c.authorize("backup:TagResource", arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	tags, e := s.taggable(c.acct(), arn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	if *tags == nil {
		*tags = map[string]string{}
	}
	for k, v := range in.Tags {
		(*tags)[k] = v
	}
	if len(*tags) > 50 {
		for k := range in.Tags {
			delete(*tags, k)
		}
		c.fail(apiErr(400, "LimitExceededException", "A resource can have at most 50 tags"), false)
		return
	}
	c.reply(nil)
}

func (s *Server) untagResource(c *call) {
	var in struct{ TagKeyList []string }
	if e := c.decode(&in); e != nil {
		c.fail(*e, false)
		return
	}
	arn := c.r.PathValue("arn")
	if e := c.authorize("backup:UntagResource", arn, nil); e != nil {
		c.fail(*e, false)
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	tags, e := s.taggable(c.acct(), arn)
	if e != nil {
		c.fail(*e, false)
		return
	}
	for _, k := range in.TagKeyList {
		delete(*tags, k)
	}
	c.reply(nil)
}
