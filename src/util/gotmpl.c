/* A subset of Go's text/template for --format (see gotmpl.h): a parser into
 * a small tree of nodes, and an evaluator over yajl values. */
#include "config.h"
#include "util/gotmpl.h"
#include "util/json.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- the tree ---- */

enum op_kind
{
  OP_FIELD, /* .A.B (fields from dot) or . */
  OP_ROOT,  /* $ or $.A.B */
  OP_STR,
  OP_INT,
  OP_BOOL,
  OP_NIL,
  OP_FUNC,
  OP_PIPE, /* ( pipeline ) */
};

struct pipeline;

struct operand
{
  enum op_kind kind;
  char *s; /* OP_STR, OP_FUNC */
  long long i;
  char **fields; /* OP_FIELD, OP_ROOT, OP_PIPE: the chain after it (may be NULL) */
  struct pipeline *pipe;
};

struct command
{
  struct operand *args;
  size_t n;
};

struct pipeline
{
  struct command *cmds;
  size_t n;
};

enum node_kind
{
  N_TEXT,
  N_ACTION,
  N_IF,
  N_RANGE,
  N_WITH,
};

struct node;

struct list
{
  struct node *v;
  size_t n;
};

struct node
{
  enum node_kind kind;
  char *text; /* N_TEXT: the text; else the action's source, for errors */
  struct pipeline *pipe;
  struct list body, alt;
};

struct gotmpl
{
  struct list root;
};

static void pipeline_free (struct pipeline *p);

static void
list_clear (struct list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      free (l->v[i].text);
      pipeline_free (l->v[i].pipe);
      list_clear (&l->v[i].body);
      list_clear (&l->v[i].alt);
    }
  free (l->v);
  l->v = NULL;
  l->n = 0;
}

static void
pipeline_free (struct pipeline *p)
{
  if (p == NULL)
    return;
  for (size_t c = 0; c < p->n; c++)
    {
      for (size_t a = 0; a < p->cmds[c].n; a++)
        {
          struct operand *o = &p->cmds[c].args[a];
          free (o->s);
          strv_free (o->fields);
          pipeline_free (o->pipe);
        }
      free (p->cmds[c].args);
    }
  free (p->cmds);
  free (p);
}

void
gotmpl_free (struct gotmpl *t)
{
  if (t == NULL)
    return;
  list_clear (&t->root);
  free (t);
}

static struct node *
list_add (struct list *l, enum node_kind kind)
{
  l->v = xrealloc (l->v, (l->n + 1) * sizeof *l->v);
  memset (&l->v[l->n], 0, sizeof *l->v);
  l->v[l->n].kind = kind;
  return &l->v[l->n++];
}

/* ---- lexing an action ---- */

enum tok_kind
{
  T_FIELD, /* fields: the chain; empty chain is "." */
  T_VAR,   /* $ with its chain */
  T_STR,
  T_INT,
  T_IDENT,
  T_PIPE,
  T_LPAREN,
  T_RPAREN,
  T_DECLARE, /* := or = (variables are not supported) */
};

struct token
{
  enum tok_kind kind;
  char *s;
  long long i;
  char **fields;
  bool spaced; /* whitespace before it */
};

struct toks
{
  struct token *v;
  size_t n;
};

static void
toks_clear (struct toks *t)
{
  for (size_t i = 0; i < t->n; i++)
    {
      free (t->v[i].s);
      strv_free (t->v[i].fields);
    }
  free (t->v);
  t->v = NULL;
  t->n = 0;
}

static struct token *
toks_add (struct toks *t, enum tok_kind kind, bool spaced)
{
  t->v = xrealloc (t->v, (t->n + 1) * sizeof *t->v);
  memset (&t->v[t->n], 0, sizeof *t->v);
  t->v[t->n].kind = kind;
  t->v[t->n].spaced = spaced;
  return &t->v[t->n++];
}

static bool
is_ident_char (char c)
{
  return isalnum ((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* A chain of .Name after p (p at the first '.'): fields appended; returns
 * the position after it. */
static const char *
lex_chain (const char *p, char ***fields)
{
  while (*p == '.' && is_ident_char (p[1]))
    {
      const char *s = ++p;
      while (is_ident_char (*p))
        p++;
      strv_add_take (fields, xstrndup (s, p - s));
    }
  return p;
}

/* A quoted string with Go's escapes at p (after the quote). */
static int
lex_string (const char **pp, char **out, rl_error_t *err)
{
  const char *p = *pp;
  size_t cap = strlen (p) + 1, n = 0;
  cleanup_free char *s = xmalloc (cap);

  for (;; p++)
    {
      if (*p == '\0' || *p == '\n')
        return rl_error (err, 0, "template: unterminated quoted string");
      if (*p == '"')
        break;
      if (*p == '\\')
        {
          p++;
          switch (*p)
            {
            case 'n':
              s[n++] = '\n';
              break;
            case 't':
              s[n++] = '\t';
              break;
            case 'r':
              s[n++] = '\r';
              break;
            case '\\':
            case '"':
              s[n++] = *p;
              break;
            default:
              return rl_error (err, 0, "template: unknown escape sequence `\\%c` in a string",
                               *p ? *p : ' ');
            }
          continue;
        }
      s[n++] = *p;
    }
  s[n] = '\0';
  *pp = p + 1;
  *out = steal_pointer (&s);
  return 0;
}

/* Lex the action starting at *pp (after "{{" and an optional "- "), up to
 * and including "}}" (or " -}}": *trim_right set). */
static int
lex_action (const char **pp, struct toks *t, bool *trim_right, rl_error_t *err)
{
  const char *p = *pp;

  *trim_right = false;
  for (;;)
    {
      bool spaced = false;
      struct token *k;

      while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++, spaced = true;
      if (*p == '\0')
        return rl_error (err, 0, "template: unclosed action (a `{{` without `}}`)");
      if (p[0] == '}' && p[1] == '}')
        {
          *pp = p + 2;
          return 0;
        }
      if (spaced && p[0] == '-' && p[1] == '}' && p[2] == '}')
        {
          *trim_right = true;
          *pp = p + 3;
          return 0;
        }
      if (*p == '.')
        {
          k = toks_add (t, T_FIELD, spaced);
          if (is_ident_char (p[1]))
            p = lex_chain (p, &k->fields);
          else
            p++;
          continue;
        }
      if (*p == '$')
        {
          k = toks_add (t, T_VAR, spaced);
          p++;
          if (is_ident_char (*p))
            return rl_error (err, 0, "template: variables other than `$` are not supported");
          p = lex_chain (p, &k->fields);
          continue;
        }
      if (*p == '"')
        {
          p++;
          k = toks_add (t, T_STR, spaced);
          if (lex_string (&p, &k->s, err) < 0)
            return -1;
          continue;
        }
      if (*p == '`')
        {
          const char *e = strchr (p + 1, '`');
          if (e == NULL)
            return rl_error (err, 0, "template: unterminated raw string");
          k = toks_add (t, T_STR, spaced);
          k->s = xstrndup (p + 1, e - p - 1);
          p = e + 1;
          continue;
        }
      if (isdigit ((unsigned char)*p) || (*p == '-' && isdigit ((unsigned char)p[1])))
        {
          char *end;
          k = toks_add (t, T_INT, spaced);
          k->i = strtoll (p, &end, 0);
          if (is_ident_char (*end) || *end == '.')
            return rl_error (err, 0, "template: bad number syntax near `%.10s`", p);
          p = end;
          continue;
        }
      if (isalpha ((unsigned char)*p) || *p == '_')
        {
          const char *s = p;
          while (is_ident_char (*p))
            p++;
          k = toks_add (t, T_IDENT, spaced);
          k->s = xstrndup (s, p - s);
          continue;
        }
      if (*p == '|')
        {
          toks_add (t, T_PIPE, spaced);
          p++;
          continue;
        }
      if (*p == '(')
        {
          toks_add (t, T_LPAREN, spaced);
          p++;
          continue;
        }
      if (*p == ')')
        {
          toks_add (t, T_RPAREN, spaced);
          p++;
          /* (pipeline).Field */
          if (*p == '.' && is_ident_char (p[1]))
            {
              k = toks_add (t, T_FIELD, false);
              p = lex_chain (p, &k->fields);
            }
          continue;
        }
      if ((p[0] == ':' && p[1] == '=') || p[0] == '=')
        return rl_error (err, 0, "template: variables other than `$` are not supported");
      return rl_error (err, 0, "template: unexpected `%c` in an action", *p);
    }
}

/* ---- parsing ---- */

static const char *const functions[] = {
  "json",   "index", "join", "upper", "lower", "title", "len", "truncate",
  "printf", "eq",    "ne",   "not",   "and",   "or",    NULL,
};

static bool
is_function (const char *name)
{
  for (size_t i = 0; functions[i]; i++)
    if (strcmp (functions[i], name) == 0)
      return true;
  return false;
}

static int parse_pipeline (struct toks *t, size_t *pos, bool in_paren, struct pipeline **out,
                           rl_error_t *err);

static int
parse_operand (struct toks *t, size_t *pos, struct operand *o, rl_error_t *err)
{
  struct token *k = &t->v[*pos];

  memset (o, 0, sizeof *o);
  switch (k->kind)
    {
    case T_FIELD:
      o->kind = OP_FIELD;
      o->fields = strv_dup (k->fields);
      break;
    case T_VAR:
      o->kind = OP_ROOT;
      o->fields = strv_dup (k->fields);
      break;
    case T_STR:
      o->kind = OP_STR;
      o->s = xstrdup (k->s);
      break;
    case T_INT:
      o->kind = OP_INT;
      o->i = k->i;
      break;
    case T_IDENT:
      if (strcmp (k->s, "true") == 0 || strcmp (k->s, "false") == 0)
        {
          o->kind = OP_BOOL;
          o->i = k->s[0] == 't';
        }
      else if (strcmp (k->s, "nil") == 0)
        o->kind = OP_NIL;
      else if (is_function (k->s))
        {
          o->kind = OP_FUNC;
          o->s = xstrdup (k->s);
        }
      else
        return rl_error (err, 0, "template: function `%s` not defined", k->s);
      break;
    case T_LPAREN:
      (*pos)++;
      o->kind = OP_PIPE;
      if (parse_pipeline (t, pos, true, &o->pipe, err) < 0)
        return -1;
      if (*pos >= t->n || t->v[*pos].kind != T_RPAREN)
        return rl_error (err, 0, "template: unclosed left parenthesis");
      if (*pos + 1 < t->n && t->v[*pos + 1].kind == T_FIELD && !t->v[*pos + 1].spaced)
        {
          (*pos)++;
          o->fields = strv_dup (t->v[*pos].fields);
        }
      break;
    case T_RPAREN:
      return rl_error (err, 0, "template: unexpected right parenthesis");
    case T_PIPE:
      return rl_error (err, 0, "template: missing command before `|`");
    case T_DECLARE:
      return rl_error (err, 0, "template: variables other than `$` are not supported");
    }
  (*pos)++;
  return 0;
}

static int
parse_pipeline (struct toks *t, size_t *pos, bool in_paren, struct pipeline **out, rl_error_t *err)
{
  struct pipeline *p = xmalloc0 (sizeof *p);

  *out = p;
  for (;;)
    {
      struct command *c;

      p->cmds = xrealloc (p->cmds, (p->n + 1) * sizeof *p->cmds);
      c = &p->cmds[p->n++];
      memset (c, 0, sizeof *c);
      while (*pos < t->n && t->v[*pos].kind != T_PIPE && t->v[*pos].kind != T_RPAREN)
        {
          c->args = xrealloc (c->args, (c->n + 1) * sizeof *c->args);
          if (parse_operand (t, pos, &c->args[c->n], err) < 0)
            {
              /* Keep the tree freeable: count the half-made operand. */
              c->n++;
              return -1;
            }
          c->n++;
        }
      if (c->n == 0)
        return rl_error (err, 0, "template: missing value for command");
      if (c->n > 1 && c->args[0].kind != OP_FUNC)
        return rl_error (err, 0, "template: can't give argument to non-function");
      if (*pos < t->n && t->v[*pos].kind == T_RPAREN)
        {
          if (!in_paren)
            return rl_error (err, 0, "template: unexpected right parenthesis");
          return 0;
        }
      if (*pos >= t->n)
        return 0;
      (*pos)++; /* the '|' */
    }
}

static bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An action's source for error messages: up to "}}", spaces trimmed. */
static char *
action_source (const char *src)
{
  size_t n = strcspn (src, "}");
  while (n > 0 && (is_space (src[n - 1]) || (src[n - 1] == '-' && n > 1 && is_space (src[n - 2]))))
    n--;
  return xstrndup (src, n);
}

struct parser
{
  const char *p;
  bool trim_next; /* the last action ended in -}} */
};

enum term
{
  TERM_EOF,
  TERM_END,
  TERM_ELSE,
};

static int parse_list (struct parser *ps, struct list *l, enum term *term, struct toks *else_toks,
                       rl_error_t *err);

/* After {{if P}}, {{range P}} or {{with P}}: the body, an optional else
 * (or else if / else with), and the end. */
static int
parse_control (struct parser *ps, struct node *n, rl_error_t *err)
{
  struct toks et = { 0 };
  enum term term;
  int r;

  if (parse_list (ps, &n->body, &term, &et, err) < 0)
    goto fail;
  if (term == TERM_EOF)
    {
      rl_error (err, 0, "template: unexpected EOF: `{{%s}}` has no `{{end}}`", n->text);
      goto fail;
    }
  if (term == TERM_ELSE)
    {
      if (et.n > 0 && et.v[0].kind == T_IDENT
          && (strcmp (et.v[0].s, "if") == 0 || strcmp (et.v[0].s, "with") == 0))
        {
          /* else if: a nested control node that takes the outer end. */
          struct node *in = list_add (&n->alt, et.v[0].s[0] == 'i' ? N_IF : N_WITH);
          size_t pos = 1;
          in->text = xstrdup (et.v[0].s);
          if (pos >= et.n)
            {
              rl_error (err, 0, "template: missing value for %s", et.v[0].s);
              goto fail;
            }
          if (parse_pipeline (&et, &pos, false, &in->pipe, err) < 0)
            goto fail;
          toks_clear (&et);
          return parse_control (ps, in, err);
        }
      if (et.n > 0)
        {
          rl_error (err, 0, "template: unexpected token after `else`");
          goto fail;
        }
      if (parse_list (ps, &n->alt, &term, &et, err) < 0)
        goto fail;
      if (term != TERM_END)
        {
          rl_error (err, 0, "template: `{{%s}}` has no `{{end}}`", n->text);
          goto fail;
        }
    }
  r = 0;
  toks_clear (&et);
  return r;
fail:
  toks_clear (&et);
  return -1;
}

/* Text and actions until the end of input, {{end}} or {{else ...}} (whose
 * tokens after `else` go to else_toks). */
static int
parse_list (struct parser *ps, struct list *l, enum term *term, struct toks *else_toks,
            rl_error_t *err)
{
  for (;;)
    {
      const char *open = strstr (ps->p, "{{");
      const char *text = ps->p, *text_end = open ? open : ps->p + strlen (ps->p);
      bool trim_left = open && open[2] == '-' && is_space (open[3]);
      bool trim_right;
      struct toks t = { 0 };
      const char *src;
      struct node *n;
      size_t pos = 0;

      if (ps->trim_next)
        while (text < text_end && is_space (*text))
          text++;
      if (trim_left)
        while (text_end > text && is_space (text_end[-1]))
          text_end--;
      if (text_end > text)
        list_add (l, N_TEXT)->text = xstrndup (text, text_end - text);
      if (open == NULL)
        {
          ps->p += strlen (ps->p);
          *term = TERM_EOF;
          return 0;
        }
      ps->p = open + (trim_left ? 4 : 2);
      while (is_space (*ps->p) && trim_left)
        ps->p++;
      if (ps->p[0] == '/' && ps->p[1] == '*')
        {
          const char *e = strstr (ps->p + 2, "*/");
          if (e == NULL)
            return rl_error (err, 0, "template: unclosed comment");
          e += 2;
          while (is_space (*e))
            e++;
          ps->trim_next = false;
          if (e[0] == '-' && e[1] == '}' && e[2] == '}')
            ps->trim_next = true, e++;
          if (e[0] != '}' || e[1] != '}')
            return rl_error (err, 0, "template: comment ends before closing delimiter");
          ps->p = e + 2;
          continue;
        }
      src = ps->p;
      if (lex_action (&ps->p, &t, &trim_right, err) < 0)
        {
          toks_clear (&t);
          return -1;
        }
      ps->trim_next = trim_right;
      if (t.n == 0)
        {
          toks_clear (&t);
          return rl_error (err, 0, "template: missing value for command");
        }
      if (t.v[0].kind == T_IDENT
          && (strcmp (t.v[0].s, "end") == 0 || strcmp (t.v[0].s, "else") == 0))
        {
          bool is_end = t.v[0].s[1] == 'n';
          if (is_end && t.n > 1)
            {
              toks_clear (&t);
              return rl_error (err, 0, "template: unexpected token after `end`");
            }
          *term = is_end ? TERM_END : TERM_ELSE;
          if (!is_end)
            {
              /* Hand the rest (after `else`) to the caller. */
              else_toks->v = xmalloc0 ((t.n + 1) * sizeof *t.v);
              for (size_t i = 1; i < t.n; i++)
                else_toks->v[else_toks->n++] = t.v[i];
              free (t.v[0].s);
              free (t.v);
            }
          else
            toks_clear (&t);
          return 0;
        }
      if (t.v[0].kind == T_IDENT
          && (strcmp (t.v[0].s, "if") == 0 || strcmp (t.v[0].s, "range") == 0
              || strcmp (t.v[0].s, "with") == 0))
        {
          enum node_kind k = t.v[0].s[0] == 'i' ? N_IF : t.v[0].s[0] == 'r' ? N_RANGE : N_WITH;
          size_t i = l->n;
          n = list_add (l, k);
          n->text = action_source (src);
          pos = 1;
          if (t.n < 2)
            {
              rl_error (err, 0, "template: missing value for %s", t.v[0].s);
              toks_clear (&t);
              return -1;
            }
          if (parse_pipeline (&t, &pos, false, &n->pipe, err) < 0)
            {
              toks_clear (&t);
              return -1;
            }
          toks_clear (&t);
          if (parse_control (ps, &l->v[i], err) < 0)
            return -1;
          continue;
        }
      if (t.v[0].kind == T_IDENT
          && (strcmp (t.v[0].s, "define") == 0 || strcmp (t.v[0].s, "template") == 0
              || strcmp (t.v[0].s, "block") == 0 || strcmp (t.v[0].s, "break") == 0
              || strcmp (t.v[0].s, "continue") == 0))
        {
          rl_error (err, 0, "template: `%s` is not supported", t.v[0].s);
          toks_clear (&t);
          return -1;
        }
      n = list_add (l, N_ACTION);
      n->text = action_source (src);
      if (parse_pipeline (&t, &pos, false, &n->pipe, err) < 0)
        {
          toks_clear (&t);
          return -1;
        }
      toks_clear (&t);
    }
}

int
gotmpl_parse (const char *text, struct gotmpl **out, rl_error_t *err)
{
  struct gotmpl *t = xmalloc0 (sizeof *t);
  struct parser ps = { .p = text };
  struct toks et = { 0 };
  enum term term;

  if (parse_list (&ps, &t->root, &term, &et, err) < 0)
    {
      toks_clear (&et);
      gotmpl_free (t);
      return -1;
    }
  toks_clear (&et);
  if (term != TERM_EOF)
    {
      gotmpl_free (t);
      return rl_error (err, 0, "template: unexpected `{{%s}}`", term == TERM_END ? "end" : "else");
    }
  *out = t;
  return 0;
}

/* ---- values ---- */

enum val_kind
{
  V_MISSING, /* a map's missing key: "<no value>" */
  V_JSON,
  V_STR,
  V_INT,
  V_BOOL,
};

struct val
{
  enum val_kind kind;
  yajl_val j;
  bool map; /* V_JSON object that is a map */
  char *s;  /* V_STR, owned */
  long long i;
};

static void
val_clear (struct val *v)
{
  free (v->s);
  memset (v, 0, sizeof *v);
}

static struct val
val_copy (const struct val *v)
{
  struct val r = *v;
  if (v->s)
    r.s = xstrdup (v->s);
  return r;
}

struct exec
{
  const char *const *map_keys;
  bool header;
  yajl_val root;
  const char *action; /* for errors */
  char *buf;
  size_t len, cap;
};

static void
out_add (struct exec *x, const char *s, size_t n)
{
  if (x->len + n + 1 > x->cap)
    {
      x->cap = (x->len + n + 1) * 2;
      x->buf = xrealloc (x->buf, x->cap);
    }
  memcpy (x->buf + x->len, s, n);
  x->len += n;
  x->buf[x->len] = '\0';
}

static void
out_str (struct exec *x, const char *s)
{
  out_add (x, s, strlen (s));
}

static int
exec_error (struct exec *x, rl_error_t *err, const char *fmt, const char *arg)
{
  cleanup_free char *m = xasprintf (fmt, arg);
  return rl_error (err, 0, "template: executing at <%s>: %s", x->action, m);
}

static bool
is_map_key (struct exec *x, const char *key)
{
  for (size_t i = 0; x->map_keys && x->map_keys[i]; i++)
    if (strcmp (x->map_keys[i], key) == 0)
      return true;
  return false;
}

static int
key_cmp (const void *a, const void *b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Object entries in Go's map order (sorted keys) or in struct order. */
static size_t *
object_order (yajl_val o, bool map)
{
  size_t n = o->u.object.len;
  size_t *idx = xmalloc ((n + 1) * sizeof *idx);
  const char **keys = xmalloc ((n + 1) * sizeof *keys);

  for (size_t i = 0; i < n; i++)
    keys[i] = o->u.object.keys[i];
  if (map)
    qsort (keys, n, sizeof *keys, key_cmp);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (keys[i] == o->u.object.keys[j])
        idx[i] = j;
  free (keys);
  return idx;
}

/* Print a value as Go's fmt %v does. */
static void
print_json (struct exec *x, yajl_val j, bool map)
{
  char num[64];

  if (j == NULL || YAJL_IS_NULL (j))
    out_str (x, "<nil>");
  else if (YAJL_IS_STRING (j))
    out_str (x, j->u.string);
  else if (YAJL_IS_INTEGER (j))
    {
      snprintf (num, sizeof num, "%lld", j->u.number.i);
      out_str (x, num);
    }
  else if (YAJL_IS_DOUBLE (j))
    {
      snprintf (num, sizeof num, "%g", j->u.number.d);
      out_str (x, num);
    }
  else if (YAJL_IS_NUMBER (j))
    out_str (x, j->u.number.r);
  else if (YAJL_IS_TRUE (j))
    out_str (x, "true");
  else if (YAJL_IS_FALSE (j))
    out_str (x, "false");
  else if (YAJL_IS_ARRAY (j))
    {
      out_str (x, "[");
      for (size_t i = 0; i < j->u.array.len; i++)
        {
          if (i)
            out_str (x, " ");
          print_json (x, j->u.array.values[i], false);
        }
      out_str (x, "]");
    }
  else if (YAJL_IS_OBJECT (j))
    {
      cleanup_free size_t *idx = object_order (j, map);
      out_str (x, map ? "map[" : "{");
      for (size_t i = 0; i < j->u.object.len; i++)
        {
          if (i)
            out_str (x, " ");
          if (map)
            {
              out_str (x, j->u.object.keys[idx[i]]);
              out_str (x, ":");
            }
          print_json (x, j->u.object.values[idx[i]], is_map_key (x, j->u.object.keys[idx[i]]));
        }
      out_str (x, map ? "]" : "}");
    }
}

static void
print_val (struct exec *x, const struct val *v)
{
  char num[32];

  switch (v->kind)
    {
    case V_MISSING:
      out_str (x, "<no value>");
      break;
    case V_JSON:
      print_json (x, v->j, v->map);
      break;
    case V_STR:
      out_str (x, v->s);
      break;
    case V_INT:
      snprintf (num, sizeof num, "%lld", v->i);
      out_str (x, num);
      break;
    case V_BOOL:
      out_str (x, v->i ? "true" : "false");
      break;
    }
}

/* The value as a new string (what {{.}} would print). */
static char *
val_string (struct exec *x, const struct val *v)
{
  char *saved = x->buf;
  size_t len = x->len, cap = x->cap;
  char *s;

  x->buf = NULL;
  x->len = x->cap = 0;
  out_add (x, "", 0);
  print_val (x, v);
  s = x->buf;
  x->buf = saved;
  x->len = len;
  x->cap = cap;
  return s;
}

static bool
val_truth (const struct val *v)
{
  switch (v->kind)
    {
    case V_MISSING:
      return false;
    case V_STR:
      return *v->s != '\0';
    case V_INT:
    case V_BOOL:
      return v->i != 0;
    case V_JSON:
      break;
    }
  if (v->j == NULL || YAJL_IS_NULL (v->j) || YAJL_IS_FALSE (v->j))
    return false;
  if (YAJL_IS_STRING (v->j))
    return *v->j->u.string != '\0';
  if (YAJL_IS_INTEGER (v->j))
    return v->j->u.number.i != 0;
  if (YAJL_IS_DOUBLE (v->j))
    return v->j->u.number.d != 0;
  if (YAJL_IS_ARRAY (v->j))
    return v->j->u.array.len > 0;
  if (YAJL_IS_OBJECT (v->j))
    return v->j->u.object.len > 0;
  return true;
}

static const char *
val_type (const struct val *v)
{
  if (v->kind == V_STR || (v->kind == V_JSON && YAJL_IS_STRING (v->j)))
    return "string";
  if (v->kind == V_INT || (v->kind == V_JSON && YAJL_IS_NUMBER (v->j)))
    return "number";
  if (v->kind == V_BOOL || (v->kind == V_JSON && (YAJL_IS_TRUE (v->j) || YAJL_IS_FALSE (v->j))))
    return "bool";
  if (v->kind == V_JSON && YAJL_IS_ARRAY (v->j))
    return "list";
  if (v->kind == V_JSON && YAJL_IS_OBJECT (v->j))
    return v->map ? "map" : "struct";
  return "nil";
}

/* Follow a chain of fields from v (consumed) into *out. */
static int
walk_fields (struct exec *x, struct val *v, char *const *fields, struct val *out, rl_error_t *err)
{
  for (size_t i = 0; fields && fields[i]; i++)
    {
      yajl_val child = NULL;
      bool found = false;

      if (v->kind == V_MISSING || (v->kind == V_JSON && (v->j == NULL || YAJL_IS_NULL (v->j))))
        {
          /* A nil map or a missing key: nothing to look into. */
          val_clear (v);
          v->kind = V_MISSING;
          continue;
        }
      if (v->kind != V_JSON || !YAJL_IS_OBJECT (v->j))
        {
          if (x->header)
            continue; /* the column title stands for the whole chain */
          int r
              = rl_error (err, 0, "template: executing at <%s>: can't evaluate field %s in type %s",
                          x->action, fields[i], val_type (v));
          val_clear (v);
          return r;
        }
      for (size_t k = 0; k < v->j->u.object.len; k++)
        if (strcmp (v->j->u.object.keys[k], fields[i]) == 0)
          {
            child = v->j->u.object.values[k];
            found = true;
            break;
          }
      if (!found)
        {
          if (!v->map)
            {
              val_clear (v);
              return exec_error (x, err, "can't evaluate field %s", fields[i]);
            }
          val_clear (v);
          v->kind = V_MISSING;
          continue;
        }
      val_clear (v);
      v->kind = V_JSON;
      v->j = child;
      v->map = is_map_key (x, fields[i]);
    }
  *out = *v;
  memset (v, 0, sizeof *v);
  return 0;
}

static int eval_pipeline (struct exec *x, const struct pipeline *p, const struct val *dot,
                          struct val *out, rl_error_t *err);

static int
eval_operand (struct exec *x, const struct operand *o, const struct val *dot, struct val *out,
              rl_error_t *err)
{
  struct val v = { 0 };

  switch (o->kind)
    {
    case OP_FIELD:
      v = val_copy (dot);
      return walk_fields (x, &v, o->fields, out, err);
    case OP_ROOT:
      v.kind = V_JSON;
      v.j = x->root;
      return walk_fields (x, &v, o->fields, out, err);
    case OP_PIPE:
      if (eval_pipeline (x, o->pipe, dot, &v, err) < 0)
        return -1;
      return walk_fields (x, &v, o->fields, out, err);
    case OP_STR:
      out->kind = V_STR;
      out->s = xstrdup (o->s);
      return 0;
    case OP_INT:
      out->kind = V_INT;
      out->i = o->i;
      return 0;
    case OP_BOOL:
      out->kind = V_BOOL;
      out->i = o->i;
      return 0;
    case OP_NIL:
      out->kind = V_JSON;
      out->j = NULL;
      return 0;
    case OP_FUNC:
      return exec_error (x, err, "%s is a function and needs to be called first", o->s);
    }
  return 0;
}

/* A string argument (a JSON string or a literal). */
static const char *
val_cstr (const struct val *v)
{
  if (v->kind == V_STR)
    return v->s;
  if (v->kind == V_JSON && v->j && YAJL_IS_STRING (v->j))
    return v->j->u.string;
  return NULL;
}

static bool
val_int (const struct val *v, long long *out)
{
  if (v->kind == V_INT)
    *out = v->i;
  else if (v->kind == V_JSON && v->j && YAJL_IS_INTEGER (v->j))
    *out = v->j->u.number.i;
  else
    return false;
  return true;
}

static void
gen_val (yajl_gen g, const struct val *v)
{
  switch (v->kind)
    {
    case V_MISSING:
      yajl_gen_null (g);
      break;
    case V_JSON:
      if (v->j == NULL)
        yajl_gen_null (g);
      else
        jg_value (g, v->j);
      break;
    case V_STR:
      jg_str (g, v->s);
      break;
    case V_INT:
      yajl_gen_integer (g, v->i);
      break;
    case V_BOOL:
      yajl_gen_bool (g, v->i);
      break;
    }
}

static bool
val_equal (struct exec *x, const struct val *a, const struct val *b)
{
  long long ia, ib;
  cleanup_free char *sa = NULL, *sb = NULL;

  if (val_int (a, &ia) && val_int (b, &ib))
    return ia == ib;
  sa = val_string (x, a);
  sb = val_string (x, b);
  return strcmp (sa, sb) == 0 && strcmp (val_type (a), val_type (b)) == 0;
}

static void
set_str (struct val *out, char *s)
{
  out->kind = V_STR;
  out->s = s;
}

/* Go's printf, for the verbs %s %v %d %q %% with flags and width. */
static int
fn_printf (struct exec *x, struct val *args, size_t n, struct val *out, rl_error_t *err)
{
  const char *f = val_cstr (&args[0]);
  size_t next = 1;
  char *saved = x->buf;
  size_t len = x->len, cap = x->cap;

  if (f == NULL)
    return exec_error (x, err, "printf: the format is not a string%s", "");
  x->buf = NULL;
  x->len = x->cap = 0;
  out_add (x, "", 0);
  for (const char *p = f; *p; p++)
    {
      char spec[32];
      size_t sl = 0;
      cleanup_free char *s = NULL;
      cleanup_free char *piece = NULL;

      if (*p != '%')
        {
          out_add (x, p, 1);
          continue;
        }
      spec[sl++] = *p++;
      while (*p && strchr ("-+ #0123456789", *p) && sl < sizeof spec - 3)
        spec[sl++] = *p++;
      if (*p == '%')
        {
          out_str (x, "%");
          continue;
        }
      if (*p == '\0' || !strchr ("svdq", *p))
        {
          free (x->buf);
          x->buf = saved, x->len = len, x->cap = cap;
          return exec_error (x, err, "printf: unsupported verb in `%s`", f);
        }
      if (next >= n)
        {
          out_str (x, "%!");
          out_add (x, p, 1);
          out_str (x, "(MISSING)");
          continue;
        }
      s = val_string (x, &args[next++]);
      if (*p == 'q')
        {
          cleanup_gen yajl_gen g = json_gen_new (false);
          jg_str (g, s);
          free (s);
          s = jg_finish (g, NULL);
        }
      spec[sl++] = 's';
      spec[sl] = '\0';
      /* Width counts bytes here, as it does for ASCII in Go. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      piece = xasprintf (spec, s);
#pragma GCC diagnostic pop
      out_str (x, piece);
    }
  set_str (out, x->buf);
  x->buf = saved, x->len = len, x->cap = cap;
  return 0;
}

static int
call_function (struct exec *x, const char *name, struct val *args, size_t n, struct val *out,
               rl_error_t *err)
{
  const char *s;
  long long k;

  if (x->header)
    {
      /* A column title: what the first argument stands for. */
      size_t i = strcmp (name, "printf") == 0 && n > 1 ? 1 : 0;
      if (n == 0)
        set_str (out, xstrdup (""));
      else
        *out = val_copy (&args[i]);
      return 0;
    }
  if (strcmp (name, "and") == 0 || strcmp (name, "or") == 0)
    {
      bool want = name[0] == 'o';
      if (n == 0)
        return exec_error (x, err, "%s: wrong number of arguments", name);
      for (size_t i = 0; i < n; i++)
        if (val_truth (&args[i]) == want || i == n - 1)
          {
            *out = val_copy (&args[i]);
            return 0;
          }
    }
  if (strcmp (name, "not") == 0)
    {
      if (n != 1)
        return exec_error (x, err, "not: wrong number of arguments, want 1%s", "");
      out->kind = V_BOOL;
      out->i = !val_truth (&args[0]);
      return 0;
    }
  if (strcmp (name, "eq") == 0 || strcmp (name, "ne") == 0)
    {
      bool eq = false;
      if (n < 2 || (name[0] == 'n' && n != 2))
        return exec_error (x, err, "%s: wrong number of arguments", name);
      for (size_t i = 1; i < n; i++)
        eq = eq || val_equal (x, &args[0], &args[i]);
      out->kind = V_BOOL;
      out->i = name[0] == 'e' ? eq : !eq;
      return 0;
    }
  if (strcmp (name, "json") == 0)
    {
      cleanup_gen yajl_gen g = json_gen_new (false);
      if (n != 1)
        return exec_error (x, err, "json: wrong number of arguments, want 1%s", "");
      gen_val (g, &args[0]);
      set_str (out, jg_finish (g, NULL));
      return 0;
    }
  if (strcmp (name, "printf") == 0)
    {
      if (n == 0)
        return exec_error (x, err, "printf: wrong number of arguments%s", "");
      return fn_printf (x, args, n, out, err);
    }
  if (strcmp (name, "upper") == 0 || strcmp (name, "lower") == 0 || strcmp (name, "title") == 0)
    {
      char *r;
      bool start = true;
      if (n != 1)
        return exec_error (x, err, "%s: wrong number of arguments, want 1", name);
      r = val_string (x, &args[0]);
      for (char *p = r; *p; p++)
        {
          if (name[0] == 'u' || (name[0] == 't' && start))
            *p = toupper ((unsigned char)*p);
          else if (name[0] == 'l')
            *p = tolower ((unsigned char)*p);
          start = !isalnum ((unsigned char)*p) && *p != '_' && *p != '\'';
        }
      set_str (out, r);
      return 0;
    }
  if (strcmp (name, "len") == 0)
    {
      if (n != 1)
        return exec_error (x, err, "len: wrong number of arguments, want 1%s", "");
      out->kind = V_INT;
      if ((s = val_cstr (&args[0])) != NULL)
        out->i = (long long)strlen (s);
      else if (args[0].kind == V_JSON && args[0].j && YAJL_IS_ARRAY (args[0].j))
        out->i = (long long)args[0].j->u.array.len;
      else if (args[0].kind == V_JSON && args[0].j && YAJL_IS_OBJECT (args[0].j))
        out->i = (long long)args[0].j->u.object.len;
      else if (args[0].kind == V_JSON && (args[0].j == NULL || YAJL_IS_NULL (args[0].j)))
        out->i = 0;
      else
        return exec_error (x, err, "len of type %s", val_type (&args[0]));
      return 0;
    }
  if (strcmp (name, "truncate") == 0)
    {
      char *r;
      if (n != 2 || !val_int (&args[1], &k) || k < 0)
        return exec_error (x, err, "truncate: want a value and a length%s", "");
      r = val_string (x, &args[0]);
      if ((long long)strlen (r) > k)
        r[k] = '\0';
      set_str (out, r);
      return 0;
    }
  if (strcmp (name, "join") == 0)
    {
      const char *sep = n == 2 ? val_cstr (&args[1]) : NULL;
      yajl_val a = args[0].kind == V_JSON ? args[0].j : NULL;
      char *saved = x->buf;
      size_t len = x->len, cap = x->cap;

      if (n != 2 || sep == NULL)
        return exec_error (x, err, "join: want a list and a separator string%s", "");
      if (args[0].kind == V_JSON && (a == NULL || YAJL_IS_NULL (a)))
        {
          set_str (out, xstrdup (""));
          return 0;
        }
      if (a == NULL || !YAJL_IS_ARRAY (a))
        return exec_error (x, err, "join: can't join a %s", val_type (&args[0]));
      x->buf = NULL;
      x->len = x->cap = 0;
      out_add (x, "", 0);
      for (size_t i = 0; i < a->u.array.len; i++)
        {
          if (i)
            out_str (x, sep);
          print_json (x, a->u.array.values[i], false);
        }
      set_str (out, x->buf);
      x->buf = saved, x->len = len, x->cap = cap;
      return 0;
    }
  if (strcmp (name, "index") == 0)
    {
      struct val cur;
      if (n < 1)
        return exec_error (x, err, "index: wrong number of arguments%s", "");
      cur = val_copy (&args[0]);
      for (size_t i = 1; i < n; i++)
        {
          yajl_val j = cur.kind == V_JSON ? cur.j : NULL;
          if (cur.kind == V_MISSING || (cur.kind == V_JSON && (j == NULL || YAJL_IS_NULL (j))))
            {
              /* A nil map: the zero value. */
              val_clear (&cur);
              set_str (&cur, xstrdup (""));
              continue;
            }
          if (j && YAJL_IS_OBJECT (j) && (s = val_cstr (&args[i])) != NULL)
            {
              yajl_val found = NULL;
              bool sub_map = false;
              for (size_t e = 0; e < j->u.object.len; e++)
                if (strcmp (j->u.object.keys[e], s) == 0)
                  {
                    found = j->u.object.values[e];
                    sub_map = is_map_key (x, s);
                  }
              val_clear (&cur);
              if (found)
                {
                  cur.kind = V_JSON;
                  cur.j = found;
                  cur.map = sub_map;
                }
              else
                set_str (&cur, xstrdup (""));
              continue;
            }
          if (j && YAJL_IS_ARRAY (j) && val_int (&args[i], &k))
            {
              if (k < 0 || (size_t)k >= j->u.array.len)
                {
                  val_clear (&cur);
                  cleanup_free char *ks = xasprintf ("%lld", k);
                  return exec_error (x, err, "index: index out of range: %s", ks);
                }
              cur.j = j->u.array.values[k];
              cur.map = false;
              continue;
            }
          {
            int r = exec_error (x, err, "index: can't index item of type %s", val_type (&cur));
            val_clear (&cur);
            return r;
          }
        }
      *out = cur;
      return 0;
    }
  return exec_error (x, err, "function `%s` not defined", name);
}

static int
eval_command (struct exec *x, const struct command *c, const struct val *dot, struct val *final,
              struct val *out, rl_error_t *err)
{
  struct val *args;
  size_t n = 0;
  int r = 0;

  if (c->args[0].kind != OP_FUNC)
    {
      if (final)
        return exec_error (x, err, "can't give argument to non-function%s", "");
      return eval_operand (x, &c->args[0], dot, out, err);
    }
  args = xmalloc0 ((c->n + 1) * sizeof *args);
  for (size_t i = 1; i < c->n; i++, n++)
    if (eval_operand (x, &c->args[i], dot, &args[n], err) < 0)
      {
        r = -1;
        break;
      }
  if (r == 0 && final)
    {
      args[n++] = *final;
      memset (final, 0, sizeof *final);
    }
  if (r == 0)
    r = call_function (x, c->args[0].s, args, n, out, err);
  for (size_t i = 0; i < n; i++)
    val_clear (&args[i]);
  free (args);
  return r;
}

static int
eval_pipeline (struct exec *x, const struct pipeline *p, const struct val *dot, struct val *out,
               rl_error_t *err)
{
  struct val cur = { 0 };

  for (size_t i = 0; i < p->n; i++)
    {
      struct val next = { 0 };
      int r = eval_command (x, &p->cmds[i], dot, i ? &cur : NULL, &next, err);
      val_clear (&cur);
      if (r < 0)
        return -1;
      cur = next;
    }
  *out = cur;
  return 0;
}

static int exec_list (struct exec *x, const struct list *l, const struct val *dot, rl_error_t *err);

static int
exec_range (struct exec *x, const struct node *n, struct val *v, const struct val *dot,
            rl_error_t *err)
{
  yajl_val j = v->kind == V_JSON ? v->j : NULL;
  size_t count = 0;

  if (v->kind == V_MISSING || (v->kind == V_JSON && (j == NULL || YAJL_IS_NULL (j))))
    return exec_list (x, &n->alt, dot, err);
  if (j && YAJL_IS_ARRAY (j))
    {
      for (size_t i = 0; i < j->u.array.len; i++, count++)
        {
          struct val e = { .kind = V_JSON, .j = j->u.array.values[i] };
          if (exec_list (x, &n->body, &e, err) < 0)
            return -1;
        }
    }
  else if (j && YAJL_IS_OBJECT (j))
    {
      cleanup_free size_t *idx = object_order (j, v->map);
      for (size_t i = 0; i < j->u.object.len; i++, count++)
        {
          struct val e = { .kind = V_JSON,
                           .j = j->u.object.values[idx[i]],
                           .map = is_map_key (x, j->u.object.keys[idx[i]]) };
          if (exec_list (x, &n->body, &e, err) < 0)
            return -1;
        }
    }
  else if (x->header)
    return exec_list (x, &n->body, v, err);
  else
    return exec_error (x, err, "range can't iterate over a %s", val_type (v));
  if (count == 0)
    return exec_list (x, &n->alt, dot, err);
  return 0;
}

static int
exec_list (struct exec *x, const struct list *l, const struct val *dot, rl_error_t *err)
{
  for (size_t i = 0; i < l->n; i++)
    {
      const struct node *n = &l->v[i];
      struct val v = { 0 };
      int r = 0;

      if (n->kind == N_TEXT)
        {
          out_str (x, n->text);
          continue;
        }
      x->action = n->text;
      if (eval_pipeline (x, n->pipe, dot, &v, err) < 0)
        return -1;
      switch (n->kind)
        {
        case N_ACTION:
          print_val (x, &v);
          break;
        case N_IF:
          r = exec_list (x, val_truth (&v) ? &n->body : &n->alt, dot, err);
          break;
        case N_WITH:
          r = val_truth (&v) ? exec_list (x, &n->body, &v, err) : exec_list (x, &n->alt, dot, err);
          break;
        case N_RANGE:
          r = exec_range (x, n, &v, dot, err);
          break;
        case N_TEXT:
          break;
        }
      val_clear (&v);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
gotmpl_exec (const struct gotmpl *t, yajl_val data, const char *const *map_keys, bool header,
             char **out, rl_error_t *err)
{
  struct exec x = { .map_keys = map_keys, .header = header, .root = data, .action = "" };
  struct val dot = { .kind = V_JSON, .j = data };

  out_add (&x, "", 0);
  if (exec_list (&x, &t->root, &dot, err) < 0)
    {
      free (x.buf);
      return -1;
    }
  *out = x.buf;
  return 0;
}

/* ---- Docker's --format conventions ---- */

char *
gotmpl_prepare (const char *format, bool *table)
{
  const char *s = format;
  size_t n;
  char *out, *o;

  *table = false;
  if (str_has_prefix (s, "table"))
    {
      *table = true;
      s += 5;
    }
  while (*s == ' ')
    s++;
  n = strlen (s);
  while (n > 0 && s[n - 1] == ' ')
    n--;
  out = o = xmalloc (n + 1);
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 't' || s[i + 1] == 'n'))
        {
          *o++ = s[i + 1] == 't' ? '\t' : '\n';
          i++;
          continue;
        }
      *o++ = s[i];
    }
  *o = '\0';
  return out;
}

#define TW_MINWIDTH 10
#define TW_PADDING  3

struct tw_line
{
  char **cells; /* the tab-terminated cells, then the rest of the line */
  size_t n;
  size_t *width;
};

static size_t
display_width (const char *s)
{
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

/* Go's tabwriter: a column is a run of consecutive lines that have a
 * tab-terminated cell in it; its width is that of its widest cell plus the
 * padding, at least the minimum width. */
static void
tw_format (struct tw_line *lines, size_t l0, size_t l1, size_t col)
{
  for (size_t i = l0; i < l1; i++)
    {
      size_t j, w = TW_MINWIDTH;

      if (col + 1 >= lines[i].n)
        continue;
      for (j = i; j < l1 && col + 1 < lines[j].n; j++)
        {
          size_t cw = display_width (lines[j].cells[col]) + TW_PADDING;
          if (cw > w)
            w = cw;
        }
      for (size_t k = i; k < j; k++)
        lines[k].width[col] = w;
      tw_format (lines, i, j, col + 1);
      i = j - 1;
    }
}

char *
gotmpl_tabwrite (const char *text)
{
  struct tw_line *lines = NULL;
  size_t n_lines = 0, len = 0, cap = 1;
  char *out;
  const char *p = text;

  while (*p)
    {
      const char *eol = strchr (p, '\n');
      const char *end = eol ? eol : p + strlen (p);
      struct tw_line *l;

      lines = xrealloc (lines, (n_lines + 1) * sizeof *lines);
      l = &lines[n_lines++];
      memset (l, 0, sizeof *l);
      for (const char *c = p;;)
        {
          const char *tab = memchr (c, '\t', end - c);
          const char *ce = tab ? tab : end;
          l->cells = xrealloc (l->cells, (l->n + 1) * sizeof *l->cells);
          l->cells[l->n++] = xstrndup (c, ce - c);
          if (tab == NULL)
            break;
          c = tab + 1;
        }
      l->width = xmalloc0 (l->n * sizeof *l->width);
      p = eol ? eol + 1 : end;
    }
  tw_format (lines, 0, n_lines, 0);
  for (size_t i = 0; i < n_lines; i++)
    for (size_t c = 0; c < lines[i].n; c++)
      cap += strlen (lines[i].cells[c]) + lines[i].width[c] + 1;
  out = xmalloc (cap);
  for (size_t i = 0; i < n_lines; i++)
    {
      for (size_t c = 0; c < lines[i].n; c++)
        {
          size_t w = display_width (lines[i].cells[c]);
          memcpy (out + len, lines[i].cells[c], strlen (lines[i].cells[c]));
          len += strlen (lines[i].cells[c]);
          if (c + 1 < lines[i].n)
            for (; w < lines[i].width[c]; w++)
              out[len++] = ' ';
          free (lines[i].cells[c]);
        }
      out[len++] = '\n';
      free (lines[i].cells);
      free (lines[i].width);
    }
  /* Only lines that had a newline keep it. */
  if (n_lines > 0 && text[strlen (text) - 1] != '\n')
    len--;
  out[len] = '\0';
  free (lines);
  return out;
}

void
gotmpl_json_tidy (char *text)
{
  char *o = text;

  /* yajl's output has no raw newline inside strings (it escapes them), so
   * "[" newline, blanks, newline, blanks, "]" is always an empty array. */
  for (const char *p = text; *p;)
    {
      if (*p == '[' || *p == '{')
        {
          const char *q = p + 1;
          char close = *p == '[' ? ']' : '}';
          while (*q == '\n' || *q == ' ')
            q++;
          if (*q == close)
            {
              *o++ = *p;
              *o++ = close;
              p = q + 1;
              continue;
            }
        }
      *o++ = *p++;
    }
  while (o > text && o[-1] == '\n')
    o--;
  *o = '\0';
}
