package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Groups: a search by the start of the name, a page per group with its
// direct members (users and groups), the members it has through nesting,
// and a member picker that console.js makes search as you type.

const groupsPerPage = 100

type groupsView struct {
	Query  string
	Groups []directory.Group
	// More: there are more matches than shown; the admin narrows the search.
	More bool
}

var groupNotices = map[string]string{
	"saved": "The changes are saved.", "added": "The member is added.", "removed": "The member is removed.",
	"deleted": "The group is deleted.", "created": "The group is created.",
}

func (c *Console) groupList(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	groups, err := c.dir.SearchGroups(r.Context(), query, groupsPerPage+1)
	if err != nil {
		c.fail(w, "search groups", err)
		return
	}
	v := groupsView{Query: query, Groups: groups[:min(len(groups), groupsPerPage)], More: len(groups) > groupsPerPage}
	c.show(w, http.StatusOK, "groups.html", "Groups", view{Admin: a, Section: "groups", Notice: groupNotices[r.URL.Query().Get("done")], Data: v})
}

func (c *Console) newGroup(w http.ResponseWriter, r *http.Request) {
	if a, ok := c.admin(w, r); ok {
		c.show(w, http.StatusOK, "group-new.html", "New group", view{Admin: a, Section: "groups", Data: directory.Group{}})
	}
}

func (c *Console) createGroup(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	g := directory.Group{CN: strings.TrimSpace(r.PostFormValue("cn")), Description: strings.TrimSpace(r.PostFormValue("description"))}
	created, err := c.dir.CreateGroup(r.Context(), g)
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.show(w, status, "group-new.html", "New group", view{Admin: a, Section: "groups", Error: message, Data: g})
		})
		return
	}
	c.audit(r, a, created.CN, "group add")
	http.Redirect(w, r, "/admin/groups/"+url.PathEscape(created.CN)+"?done=created", http.StatusSeeOther)
}

// member is a group member as the page lists it.
type member struct {
	Name  string // uid or cn
	Label string // the user's common name, or the group's description
	Group bool
	// Ref is the member as the forms name it: "uid" or "group:cn".
	Ref string
}

type groupView struct {
	Group     directory.Group
	Members   []member
	Effective []member
}

func (c *Console) group(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	c.showGroup(w, r, a, http.StatusOK, groupNotices[r.URL.Query().Get("done")], "")
}

func (c *Console) showGroup(w http.ResponseWriter, r *http.Request, a signin.Account, status int, notice, problem string) {
	v, err := c.groupView(r.Context(), r.PathValue("cn"))
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.pages.Message(w, status, "No such group", "There is no group "+r.PathValue("cn")+".")
		})
		return
	}
	c.show(w, status, "group.html", v.Group.CN, view{Admin: a, Section: "groups", Notice: notice, Error: problem, Data: v})
}

func (c *Console) groupView(ctx context.Context, cn string) (groupView, error) {
	var v groupView
	err := c.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		g, err := r.GroupByCN(cn)
		if err != nil {
			return err
		}
		v.Group = g
		for _, id := range g.Groups {
			if sub, err := r.Group(id); err == nil {
				v.Members = append(v.Members, member{Name: sub.CN, Label: sub.Description, Group: true, Ref: "group:" + sub.CN})
			}
		}
		users, err := usersByID(r, g.Users)
		if err != nil {
			return err
		}
		v.Members = append(v.Members, users...)
		ids, err := r.EffectiveUserIDs(g.ID)
		if err != nil {
			return err
		}
		v.Effective, err = usersByID(r, ids)
		return err
	})
	return v, err
}

// usersByID lists users as members, in uid order.
func usersByID(r directory.Reader, ids []string) ([]member, error) {
	out := make([]member, 0, len(ids))
	for _, id := range ids {
		u, err := r.User(id)
		if err != nil {
			return nil, err
		}
		out = append(out, member{Name: u.UID, Label: u.CommonName(), Ref: u.UID})
	}
	slices.SortFunc(out, func(a, b member) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

func (c *Console) editGroup(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	cn := r.PathValue("cn")
	_, err := c.dir.UpdateGroup(r.Context(), cn, func(g *directory.Group) error {
		g.Description = strings.TrimSpace(r.PostFormValue("description"))
		return nil
	})
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showGroup(w, r, a, status, "", message) })
		return
	}
	c.audit(r, a, cn, "group edit")
	http.Redirect(w, r, "/admin/groups/"+url.PathEscape(cn)+"?done=saved", http.StatusSeeOther)
}

func (c *Console) addMember(w http.ResponseWriter, r *http.Request) {
	c.changeMembers(w, r, true)
}

func (c *Console) removeMember(w http.ResponseWriter, r *http.Request) {
	c.changeMembers(w, r, false)
}

// changeMembers adds or removes the member the form names: "uid" or
// "group:cn", as the CLI takes them.
func (c *Console) changeMembers(w http.ResponseWriter, r *http.Request, add bool) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	cn := r.PathValue("cn")
	ref := directory.ParseMemberRef(strings.TrimSpace(r.PostFormValue("member")))
	var err error
	if ref.Name == "" {
		err = fmt.Errorf("name a user, or a group as group:NAME: %w", directory.ErrInvalid)
	} else if add {
		_, err = c.dir.ChangeMembers(r.Context(), cn, []directory.MemberRef{ref}, nil)
	} else {
		_, err = c.dir.ChangeMembers(r.Context(), cn, nil, []directory.MemberRef{ref})
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showGroup(w, r, a, status, "", message) })
		return
	}
	action, done := "group add-member ", "added"
	if !add {
		action, done = "group remove-member ", "removed"
	}
	c.audit(r, a, cn, action+ref.String())
	http.Redirect(w, r, "/admin/groups/"+url.PathEscape(cn)+"?done="+done, http.StatusSeeOther)
}

func (c *Console) confirmDeleteGroup(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	g, err := c.dir.Group(r.Context(), r.PathValue("cn"))
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.pages.Message(w, status, "No such group", message) })
		return
	}
	c.show(w, http.StatusOK, "group-delete.html", "Delete "+g.CN, view{Admin: a, Section: "groups", Data: g})
}

func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	cn := r.PathValue("cn")
	err := error(&confirmError{uid: cn})
	if r.PostFormValue("confirm") == cn {
		err = c.dir.DeleteGroup(r.Context(), cn)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showGroup(w, r, a, status, "", message) })
		return
	}
	c.audit(r, a, cn, "group delete")
	http.Redirect(w, r, "/admin/groups?done=deleted", http.StatusSeeOther)
}

// pick is a member picker suggestion as console.js receives it.
type pick struct {
	Ref   string `json:"ref"`
	Label string `json:"label"`
}

// memberSearch suggests users and groups whose names start with q, for
// the member picker.
func (c *Console) memberSearch(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.admin(w, r); !ok {
		return
	}
	picks, err := c.suggestMembers(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		c.fail(w, "member picker", err)
		return
	}
	web.JSON(w, http.StatusOK, memberPicks{Members: picks})
}

// memberPicks is the member picker's suggestions as console.js receives
// them.
type memberPicks struct {
	Members []pick `json:"members"`
}

// suggestMembers is up to ten users and ten groups whose names start with
// q.
func (c *Console) suggestMembers(ctx context.Context, q string) ([]pick, error) {
	q = strings.TrimSpace(q)
	out := []pick{}
	if q == "" {
		return out, nil
	}
	users, err := c.dir.SearchUsers(ctx, q, "", 10)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	for _, u := range users.Users {
		out = append(out, pick{Ref: u.UID, Label: u.CommonName + " (" + u.UID + ")"})
	}
	groups, err := c.dir.SearchGroups(ctx, q, 10)
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	for _, g := range groups {
		out = append(out, pick{Ref: "group:" + g.CN, Label: "Group " + g.CN})
	}
	return out, nil
}
