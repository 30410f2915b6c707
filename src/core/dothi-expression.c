/* dothi-expression.c: a small recursive-descent parser for attribute
 * conditions. Field names are checked against the layer and values become
 * bound parameters, so nothing a user types is ever pasted into SQL. */
#define G_LOG_DOMAIN "dothi-expression"

#include "config.h"
#include "dothi-expression.h"
#include "dothi-expression-private.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-search.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

/* Parentheses and NOTs nested deeper than this are refused, so a hostile
 * expression cannot exhaust the stack. */
#define MAX_DEPTH 100
/* Characters of a token quoted in an error message. */
#define MAX_QUOTED_CHARS 30

typedef enum {
  TOKEN_WORD,      /* a bare identifier or keyword */
  TOKEN_QIDENT,    /* a "double-quoted" identifier */
  TOKEN_STRING,    /* 'text' */
  TOKEN_NUMBER,
  TOKEN_OP,        /* = <> != < <= > >= ~= */
  TOKEN_LPAREN,
  TOKEN_RPAREN,
  TOKEN_COMMA,
  TOKEN_EOF,
  TOKEN_ERROR,     /* where the lexer stopped: Parser.lex_error says why */
} TokenType;

typedef struct {
  TokenType   type;
  char       *text;    /* unquoted text, the word, the number or the operator */
  const char *start;   /* in the source, for messages */
  gsize       len;
  int         pos;     /* 1-based character position */
  gboolean    is_integer;
} Token;

struct _DothiExpression {
  DothiExprNode *root;
};

typedef struct {
  const char           *source;
  const DothiLayerInfo *info;
  DothiLayerResolver    resolver;   /* NULL: no spatial conditions here */
  gpointer              resolver_data;
  gboolean              in_spatial; /* inside a spatial condition's own */
  GArray               *tokens;   /* Token */
  guint                 next;
  int                   depth;
  /* Lexing stops at the first bad character; its error is reported only
   * when the parser gets there, so an earlier mistake is named first. */
  GError               *lex_error;
  gboolean              reached_lex_error;
} Parser;

/* A field as the parser sees it: "fid" is one too. */
typedef struct {
  const char     *name;
  DothiFieldType  type;
  gboolean        is_fid;
} Field;

static const char *keywords[] = {
  "AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "BETWEEN", "IS", "NULL",
  "TRUE", "FALSE",
};

static void
node_free (DothiExprNode *node)
{
  if (node == NULL)
    return;
  node_free (node->a);
  node_free (node->b);
  g_free (node->column);
  g_clear_pointer (&node->values, g_ptr_array_unref);
  g_free (node);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiExprNode, node_free)

static DothiExprNode *
node_new (DothiExprKind kind)
{
  DothiExprNode *node = g_new0 (DothiExprNode, 1);

  node->kind = kind;
  return node;
}

static void
clear_token (gpointer data)
{
  Token *token = data;

  g_free (token->text);
}

static int
position_of (const char *source, const char *p)
{
  return (int) g_utf8_pointer_to_offset (source, p) + 1;
}

/* The token as typed, shortened for a message. */
static char *
token_excerpt (const Token *token)
{
  g_autofree char *text = g_strndup (token->start, token->len);

  if (g_utf8_strlen (text, -1) > MAX_QUOTED_CHARS)
    {
      g_autofree char *cut = g_utf8_substring (text, 0, MAX_QUOTED_CHARS);
      return g_strconcat (cut, "…", NULL);
    }
  return g_steal_pointer (&text);
}

/* ---- lexer ---------------------------------------------------------------- */

static gboolean
is_word_start (gunichar c)
{
  return c == '_' || g_unichar_isalpha (c);
}

static gboolean
is_word_char (gunichar c)
{
  return c == '_' || g_unichar_isalnum (c) || g_unichar_ismark (c);
}

/* Scans 'text' or "name" starting at the quote @p; the doubled quote
 * escapes. Returns the end (after the closing quote) or NULL. */
static const char *
scan_quoted (const char *p, char quote, char **out)
{
  GString *s = g_string_new (NULL);

  for (p++; *p != '\0'; p++)
    {
      if (*p == quote)
        {
          if (p[1] != quote)
            {
              *out = g_string_free (s, FALSE);
              return p + 1;
            }
          p++;
        }
      g_string_append_c (s, *p);
    }
  g_string_free (s, TRUE);
  return NULL;
}

/* [+-]digits[.digits][(e|E)[+-]digits], or [+-].digits…: no hex, no inf. */
static const char *
scan_number (const char *p, gboolean *is_integer)
{
  const char *q = p;
  gboolean digits = FALSE;

  *is_integer = TRUE;
  if (*q == '+' || *q == '-')
    q++;
  while (g_ascii_isdigit (*q))
    q++, digits = TRUE;
  if (*q == '.')
    {
      *is_integer = FALSE;
      q++;
      while (g_ascii_isdigit (*q))
        q++, digits = TRUE;
    }
  if (!digits)
    return NULL;
  if ((*q == 'e' || *q == 'E')
      && (g_ascii_isdigit (q[1])
          || ((q[1] == '+' || q[1] == '-') && g_ascii_isdigit (q[2]))))
    {
      *is_integer = FALSE;
      q += 2;
      while (g_ascii_isdigit (*q))
        q++;
    }
  return q;
}

static gboolean
tokenize (Parser *parser, GError **error)
{
  const char *p = parser->source;

  while (TRUE)
    {
      Token token = { 0, };
      const char *end = NULL;
      gunichar c;

      while (*p != '\0' && g_unichar_isspace (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);

      token.start = p;
      token.pos = position_of (parser->source, p);
      c = g_utf8_get_char (p);

      if (c == '\0')
        {
          token.type = TOKEN_EOF;
          g_array_append_val (parser->tokens, token);
          return TRUE;
        }
      else if (c == '\'' || c == '"')
        {
          end = scan_quoted (p, (char) c, &token.text);
          if (end == NULL)
            {
              if (c == '\'')
                g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                             /* Translators: a character position in the expression */
                             _("The text starting at position %d has no closing quote"),
                             token.pos);
              else
                g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                             /* Translators: a character position in the expression */
                             _("The field name starting at position %d has no closing quote"),
                             token.pos);
              return FALSE;
            }
          token.type = c == '\'' ? TOKEN_STRING : TOKEN_QIDENT;
          if (token.type == TOKEN_QIDENT)
            {
              char *nfc = g_utf8_normalize (token.text, -1, G_NORMALIZE_NFC);
              g_free (token.text);
              token.text = nfc;
            }
        }
      else if (g_ascii_isdigit (c)
               || ((c == '-' || c == '+' || c == '.')
                   && (g_ascii_isdigit (p[1]) || (p[1] == '.' && g_ascii_isdigit (p[2])))))
        {
          end = scan_number (p, &token.is_integer);
          if (end == NULL || is_word_char (g_utf8_get_char (end)))
            {
              g_autofree char *bad = NULL;

              if (end == NULL)
                end = p + 1;
              while (*end != '\0' && is_word_char (g_utf8_get_char (end)))
                end = g_utf8_next_char (end);
              bad = g_strndup (p, end - p);
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: what was typed, a character position */
                           _("“%s” at position %d is not a number"), bad, token.pos);
              return FALSE;
            }
          token.type = TOKEN_NUMBER;
          token.text = g_strndup (p, end - p);
        }
      else if (is_word_start (c))
        {
          g_autofree char *word = NULL;

          end = p;
          while (*end != '\0' && is_word_char (g_utf8_get_char (end)))
            end = g_utf8_next_char (end);
          word = g_strndup (p, end - p);
          token.type = TOKEN_WORD;
          token.text = g_utf8_normalize (word, -1, G_NORMALIZE_NFC);
        }
      else
        {
          static const char *ops[] = { "<>", "!=", "<=", ">=", "~=", "=", "<", ">" };

          token.type = TOKEN_OP;
          for (guint i = 0; i < G_N_ELEMENTS (ops) && end == NULL; i++)
            if (g_str_has_prefix (p, ops[i]))
              {
                end = p + strlen (ops[i]);
                token.text = g_strdup (ops[i]);
              }
          if (end == NULL)
            {
              end = p + 1;
              if (c == '(')
                token.type = TOKEN_LPAREN;
              else if (c == ')')
                token.type = TOKEN_RPAREN;
              else if (c == ',')
                token.type = TOKEN_COMMA;
              else
                {
                  char buf[8] = { 0, };

                  g_unichar_to_utf8 (c, buf);
                  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                               /* Translators: a character, a character position */
                               _("Unexpected character “%s” at position %d"), buf, token.pos);
                  return FALSE;
                }
            }
        }

      token.len = end - p;
      g_array_append_val (parser->tokens, token);
      p = end;
    }
}

/* ---- parser --------------------------------------------------------------- */

static Token *
peek (Parser *parser)
{
  Token *token = &g_array_index (parser->tokens, Token, parser->next);

  if (token->type == TOKEN_ERROR)
    parser->reached_lex_error = TRUE;
  return token;
}

static Token *
advance (Parser *parser)
{
  Token *token = peek (parser);

  if (token->type != TOKEN_EOF && token->type != TOKEN_ERROR)
    parser->next++;
  return token;
}

static gboolean
is_keyword (const Token *token, const char *keyword)
{
  return token->type == TOKEN_WORD && g_ascii_strcasecmp (token->text, keyword) == 0;
}

static gboolean
is_any_keyword (const Token *token)
{
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (is_keyword (token, keywords[i]))
      return TRUE;
  return FALSE;
}

static gboolean
accept_keyword (Parser *parser, const char *keyword)
{
  if (!is_keyword (peek (parser), keyword))
    return FALSE;
  advance (parser);
  return TRUE;
}

/* The error for a token where something else was expected. */
static void
set_unexpected (const Token *token, GError **error)
{
  g_autofree char *excerpt = NULL;

  if (token->type == TOKEN_EOF || token->type == TOKEN_ERROR)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a character position in the expression */
                   _("The expression ends too early at position %d"), token->pos);
      return;
    }
  excerpt = token_excerpt (token);
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: what was typed, a character position */
               _("Unexpected “%s” at position %d"), excerpt, token->pos);
}

static gboolean
find_field (Parser *parser, const Token *token, Field *field, GError **error)
{
  g_autofree char *wanted = g_utf8_casefold (token->text, -1);

  for (guint i = 0; i < parser->info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (parser->info->fields, i);
      g_autofree char *nfc = g_utf8_normalize (f->name, -1, G_NORMALIZE_NFC);
      g_autofree char *name = g_utf8_casefold (nfc != NULL ? nfc : f->name, -1);

      if (strcmp (name, wanted) == 0)
        {
          field->name = f->name;
          field->type = f->type;
          field->is_fid = FALSE;
          return TRUE;
        }
    }
  if (strcmp (wanted, "fid") == 0)
    {
      field->name = "fid";
      field->type = DOTHI_FIELD_INTEGER;
      field->is_fid = TRUE;
      return TRUE;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: field name, a character position in the expression */
               _("Unknown field “%s” at position %d"), token->text, token->pos);
  return FALSE;
}

static void
set_mismatch (const Field *field, const Token *token, GError **error)
{
  const char *message;

  switch (field->type)
    {
    case DOTHI_FIELD_INTEGER:
    case DOTHI_FIELD_REAL:
      /* Translators: field name, a character position in the expression */
      message = _("Field “%s” holds numbers, but the value at position %d is not a number");
      break;
    case DOTHI_FIELD_DATE:
      /* Translators: field name, a character position; keep 'YYYY-MM-DD' */
      message = _("Field “%s” holds dates, but the value at position %d is not a date written 'YYYY-MM-DD'");
      break;
    case DOTHI_FIELD_DATETIME:
      /* Translators: field name, a character position; keep the formats */
      message = _("Field “%s” holds dates and times, but the value at position %d is not written 'YYYY-MM-DD' or 'YYYY-MM-DDThh:mm:ss'");
      break;
    case DOTHI_FIELD_BOOLEAN:
      /* Translators: field name, a character position; keep TRUE and FALSE */
      message = _("Field “%s” holds true or false, but the value at position %d is not TRUE or FALSE");
      break;
    case DOTHI_FIELD_BLOB:    /* check_operator() refuses it before any value */
    case DOTHI_FIELD_TEXT:
    default:
      /* Translators: field name, a character position in the expression */
      message = _("Field “%s” holds text, but the value at position %d is not text");
      break;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA, message,
               field->name, token->pos);
}

static gboolean
is_valid_date (const char *text)
{
  guint year, month, day;

  if (strlen (text) != 10 || text[4] != '-' || text[7] != '-')
    return FALSE;
  for (guint i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit (text[i]))
      return FALSE;
  year = (guint) g_ascii_strtoull (text, NULL, 10);
  month = (guint) g_ascii_strtoull (text + 5, NULL, 10);
  day = (guint) g_ascii_strtoull (text + 8, NULL, 10);
  return year >= 1 && g_date_valid_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year);
}

static gboolean
is_valid_datetime (const char *text)
{
  g_autoptr(GTimeZone) utc = NULL;
  g_autoptr(GDateTime) dt = NULL;
  char date[11];

  if (is_valid_date (text))
    return TRUE;
  if (strlen (text) < 11)
    return FALSE;
  memcpy (date, text, 10);
  date[10] = '\0';
  if (!is_valid_date (date))
    return FALSE;
  utc = g_time_zone_new_utc ();
  dt = g_date_time_new_from_iso8601 (text, utc);
  return dt != NULL;
}

/* A number literal as a GVariant: int64 when it is a whole number that fits. */
static GVariant *
number_variant (const Token *token)
{
  if (token->is_integer)
    {
      gint64 v;

      if (g_ascii_string_to_signed (token->text[0] == '+' ? token->text + 1 : token->text,
                                    10, G_MININT64, G_MAXINT64, &v, NULL))
        return g_variant_new_int64 (v);
    }
  return g_variant_new_double (g_ascii_strtod (token->text, NULL));
}

/* One value for @field; the returned variant is floating-free (sunk). */
static GVariant *
parse_value (Parser *parser, const Field *field, GError **error)
{
  const Token *token = advance (parser);
  GVariant *value = NULL;

  switch (token->type)
    {
    case TOKEN_NUMBER:
      if (field->type == DOTHI_FIELD_INTEGER || field->type == DOTHI_FIELD_REAL)
        value = number_variant (token);
      else if (field->type == DOTHI_FIELD_TEXT)
        value = g_variant_new_string (token->text);   /* as typed: "08" stays "08" */
      else if (field->type == DOTHI_FIELD_BOOLEAN
               && (strcmp (token->text, "0") == 0 || strcmp (token->text, "1") == 0))
        value = g_variant_new_boolean (token->text[0] == '1');
      break;
    case TOKEN_STRING:
      if (field->type == DOTHI_FIELD_TEXT
          || (field->type == DOTHI_FIELD_DATE && is_valid_date (token->text))
          || (field->type == DOTHI_FIELD_DATETIME && is_valid_datetime (token->text)))
        value = g_variant_new_string (token->text);
      break;
    case TOKEN_WORD:
      if (is_keyword (token, "NULL"))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a character position; keep IS NULL and IS NOT NULL */
                       _("Nothing equals NULL: write IS NULL or IS NOT NULL (position %d)"),
                       token->pos);
          return NULL;
        }
      if (!is_keyword (token, "TRUE") && !is_keyword (token, "FALSE"))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: what was typed, a character position; keep the quotes */
                       _("“%s” at position %d is not a value: put text in 'single quotes'"),
                       token->text, token->pos);
          return NULL;
        }
      if (field->type == DOTHI_FIELD_BOOLEAN)
        value = g_variant_new_boolean (is_keyword (token, "TRUE"));
      break;
    case TOKEN_QIDENT:
    case TOKEN_OP:
    case TOKEN_LPAREN:
    case TOKEN_RPAREN:
    case TOKEN_COMMA:
    case TOKEN_EOF:
    case TOKEN_ERROR:
    default:
      set_unexpected (token, error);
      return NULL;
    }

  if (value == NULL)
    {
      set_mismatch (field, token, error);
      return NULL;
    }
  return g_variant_ref_sink (value);
}

static gboolean
check_operator (const Field *field, const Token *op, gboolean ok, GError **error)
{
  g_autofree char *excerpt = NULL;

  if (ok)
    return TRUE;
  excerpt = token_excerpt (op);
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: an operator, a character position, a field name */
               _("Operator “%s” at position %d does not apply to field “%s”"),
               excerpt, op->pos, field->name);
  return FALSE;
}


static DothiExprNode *parse_or (Parser *parser, GError **error);
static gboolean enter (Parser *parser, const Token *token, GError **error);

/* within_distance(OTHER, METRES [, CONDITION]), intersects(OTHER [, …])… */
static DothiExprNode *
parse_spatial (Parser                *parser,
               DothiSpatialPredicate  predicate,
               GError               **error)
{
  const Token *name = advance (parser);
  const Token *open = advance (parser);
  const Token *layer_token;
  const DothiLayerInfo *other;
  const DothiLayerInfo *target = parser->info;
  g_autoptr(DothiExprNode) node = NULL;

  if (parser->resolver == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   parser->in_spatial
                   /* Translators: a function name, a character position */
                   ? _("The spatial condition “%s” at position %d cannot stand inside another spatial condition")
                   /* Translators: a function name, a character position */
                   : _("The spatial condition “%s” at position %d is not allowed here"),
                   name->text, name->pos);
      return NULL;
    }
  if (target->kind == DOTHI_GEOMETRY_KIND_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a layer name, a function name, a character position */
                   _("Layer “%s” has no geometry for the spatial condition “%s” at position %d"),
                   target->name, name->text, name->pos);
      return NULL;
    }
  if (!enter (parser, open, error))
    return NULL;

  layer_token = peek (parser);
  if (layer_token->type != TOKEN_WORD && layer_token->type != TOKEN_QIDENT
      && layer_token->type != TOKEN_STRING)
    {
      if (layer_token->type == TOKEN_EOF)
        set_unexpected (layer_token, error);
      else
        {
          g_autofree char *excerpt = token_excerpt (layer_token);
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: what was typed, a character position */
                       _("Expected a layer name, not “%s”, at position %d"),
                       excerpt, layer_token->pos);
        }
      return NULL;
    }
  advance (parser);
  other = parser->resolver (layer_token->text, parser->resolver_data);
  if (other == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: layer name, a character position in the expression */
                   _("Unknown layer “%s” at position %d"), layer_token->text, layer_token->pos);
      return NULL;
    }
  if (other->kind == DOTHI_GEOMETRY_KIND_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name, a character position in the expression */
                   _("Layer “%s” at position %d has no geometry"), other->name, layer_token->pos);
      return NULL;
    }
  if (other->srid != target->srid)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer, position, EPSG code, layer, EPSG code */
                   _("Layer “%s” at position %d is in another coordinate system (EPSG:%d) than “%s” (EPSG:%d)"),
                   other->name, layer_token->pos, other->srid, target->name, target->srid);
      return NULL;
    }

  node = node_new (DOTHI_EXPR_SPATIAL);
  node->predicate = predicate;
  node->column = g_strdup (other->name);
  node->pos = name->pos;

  if (predicate == DOTHI_SPATIAL_WITHIN_DISTANCE)
    {
      const Token *number;

      if (peek (parser)->type != TOKEN_COMMA)
        {
          set_unexpected (peek (parser), error);
          return NULL;
        }
      advance (parser);
      number = peek (parser);
      if (number->type != TOKEN_NUMBER)
        {
          if (number->type == TOKEN_EOF)
            set_unexpected (number, error);
          else
            {
              g_autofree char *excerpt = token_excerpt (number);
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: what was typed, a character position */
                           _("Expected a distance in metres, not “%s”, at position %d"),
                           excerpt, number->pos);
            }
          return NULL;
        }
      advance (parser);
      node->distance = g_ascii_strtod (number->text, NULL);
      if (!(node->distance >= 0) || !isfinite (node->distance))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: what was typed, a character position */
                       _("The distance “%s” at position %d must be zero or more metres"),
                       number->text, number->pos);
          return NULL;
        }
    }

  if (peek (parser)->type == TOKEN_COMMA)
    {
      DothiLayerResolver resolver = parser->resolver;

      advance (parser);
      /* The condition picks the other layer's features: its fields. */
      parser->info = other;
      parser->resolver = NULL;
      parser->in_spatial = TRUE;
      node->a = parse_or (parser, error);
      parser->info = target;
      parser->resolver = resolver;
      parser->in_spatial = FALSE;
      if (node->a == NULL)
        return NULL;
    }

  if (peek (parser)->type != TOKEN_RPAREN)
    {
      if (peek (parser)->type == TOKEN_EOF)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: a character position in the expression */
                     _("Unbalanced parentheses: the “(” at position %d is never closed"),
                     open->pos);
      else
        set_unexpected (peek (parser), error);
      return NULL;
    }
  advance (parser);
  parser->depth--;
  return g_steal_pointer (&node);
}

static DothiExprNode *
parse_predicate (Parser *parser, GError **error)
{
  const Token *name = peek (parser);
  const Token *op;
  g_autoptr(DothiExprNode) node = NULL;
  Field field;
  gboolean negated = FALSE;

  if (!(name->type == TOKEN_QIDENT || (name->type == TOKEN_WORD && !is_any_keyword (name))))
    {
      if (name->type == TOKEN_EOF)
        set_unexpected (name, error);
      else
        {
          g_autofree char *excerpt = token_excerpt (name);
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: what was typed, a character position */
                       _("Expected a field name, not “%s”, at position %d"),
                       excerpt, name->pos);
        }
      return NULL;
    }
  if (name->type == TOKEN_WORD
      && g_array_index (parser->tokens, Token, parser->next + 1).type == TOKEN_LPAREN)
    {
      DothiSpatialPredicate predicate;

      if (dothi_spatial_predicate_from_string (name->text, &predicate))
        return parse_spatial (parser, predicate, error);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: what was typed, a character position */
                   _("Unknown function “%s” at position %d"), name->text, name->pos);
      return NULL;
    }
  if (!find_field (parser, name, &field, error))
    return NULL;
  advance (parser);

  op = advance (parser);
  if (op->type == TOKEN_OP)
    {
      GVariant *value;
      gboolean folded = strcmp (op->text, "~=") == 0;
      gboolean ordering = op->text[0] == '<' || op->text[0] == '>';

      if (!check_operator (&field, op,
                           field.type != DOTHI_FIELD_BLOB
                           && (!folded || field.type == DOTHI_FIELD_TEXT)
                           && (!ordering || strcmp (op->text, "<>") == 0
                               || field.type != DOTHI_FIELD_BOOLEAN),
                           error))
        return NULL;
      value = parse_value (parser, &field, error);
      if (value == NULL)
        return NULL;
      node = node_new (DOTHI_EXPR_COMPARE);
      node->folded = folded;
      node->op = folded ? "="
                 : strcmp (op->text, "!=") == 0 ? "<>"
                 : g_intern_string (op->text);
      node->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_ptr_array_add (node->values, value);
    }
  else if (is_keyword (op, "IS"))
    {
      node = node_new (DOTHI_EXPR_IS_NULL);
      node->negated = accept_keyword (parser, "NOT");
      if (!accept_keyword (parser, "NULL"))
        {
          set_unexpected (peek (parser), error);
          return NULL;
        }
    }
  else
    {
      if (is_keyword (op, "NOT"))
        {
          negated = TRUE;
          op = advance (parser);
        }
      if (is_keyword (op, "LIKE") || is_keyword (op, "ILIKE"))
        {
          gboolean folded = is_keyword (op, "ILIKE");
          GVariant *value;

          if (!check_operator (&field, op,
                               field.type == DOTHI_FIELD_TEXT
                               || (!folded && (field.type == DOTHI_FIELD_DATE
                                               || field.type == DOTHI_FIELD_DATETIME)),
                               error))
            return NULL;
          /* A pattern is text even where a date is expected: '2024-%'. */
          if (peek (parser)->type == TOKEN_STRING)
            {
              value = g_variant_ref_sink (g_variant_new_string (advance (parser)->text));
            }
          else
            {
              Field text_field = field;

              text_field.type = DOTHI_FIELD_TEXT;
              value = parse_value (parser, &text_field, error);
              if (value == NULL)
                return NULL;
            }
          node = node_new (DOTHI_EXPR_LIKE);
          node->folded = folded;
          node->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
          g_ptr_array_add (node->values, value);
        }
      else if (is_keyword (op, "IN"))
        {
          if (!check_operator (&field, op, field.type != DOTHI_FIELD_BLOB, error))
            return NULL;
          if (peek (parser)->type != TOKEN_LPAREN)
            {
              set_unexpected (peek (parser), error);
              return NULL;
            }
          advance (parser);
          node = node_new (DOTHI_EXPR_IN);
          node->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
          while (TRUE)
            {
              GVariant *value = parse_value (parser, &field, error);

              if (value == NULL)
                return NULL;
              g_ptr_array_add (node->values, value);
              if (peek (parser)->type != TOKEN_COMMA)
                break;
              advance (parser);
            }
          if (peek (parser)->type != TOKEN_RPAREN)
            {
              set_unexpected (peek (parser), error);
              return NULL;
            }
          advance (parser);
        }
      else if (is_keyword (op, "BETWEEN"))
        {
          GVariant *low, *high;

          if (!check_operator (&field, op,
                               field.type != DOTHI_FIELD_BLOB
                               && field.type != DOTHI_FIELD_BOOLEAN,
                               error))
            return NULL;
          node = node_new (DOTHI_EXPR_BETWEEN);
          node->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
          low = parse_value (parser, &field, error);
          if (low == NULL)
            return NULL;
          g_ptr_array_add (node->values, low);
          if (!accept_keyword (parser, "AND"))
            {
              set_unexpected (peek (parser), error);
              return NULL;
            }
          high = parse_value (parser, &field, error);
          if (high == NULL)
            return NULL;
          g_ptr_array_add (node->values, high);
        }
      else
        {
          if (op->type == TOKEN_EOF)
            set_unexpected (op, error);
          else
            {
              g_autofree char *excerpt = token_excerpt (op);
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: field name, what was typed, a character position */
                           _("Expected an operator after field “%s”, not “%s”, at position %d"),
                           field.name, excerpt, op->pos);
            }
          return NULL;
        }
      node->negated = negated;
    }

  node->column = g_strdup (field.name);
  return g_steal_pointer (&node);
}

static gboolean
enter (Parser *parser, const Token *token, GError **error)
{
  if (++parser->depth <= MAX_DEPTH)
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: a character position in the expression */
               _("The expression is nested too deeply at position %d"), token->pos);
  return FALSE;
}

static DothiExprNode *
parse_primary (Parser *parser, GError **error)
{
  const Token *open = peek (parser);
  g_autoptr(DothiExprNode) inner = NULL;

  if (open->type != TOKEN_LPAREN)
    return parse_predicate (parser, error);

  if (!enter (parser, open, error))
    return NULL;
  advance (parser);
  inner = parse_or (parser, error);
  if (inner == NULL)
    return NULL;
  if (peek (parser)->type != TOKEN_RPAREN)
    {
      if (peek (parser)->type == TOKEN_EOF)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: a character position in the expression */
                     _("Unbalanced parentheses: the “(” at position %d is never closed"),
                     open->pos);
      else
        set_unexpected (peek (parser), error);
      return NULL;
    }
  advance (parser);
  parser->depth--;
  return g_steal_pointer (&inner);
}

static DothiExprNode *
parse_not (Parser *parser, GError **error)
{
  const Token *token = peek (parser);
  DothiExprNode *node;

  if (!is_keyword (token, "NOT"))
    return parse_primary (parser, error);
  if (!enter (parser, token, error))
    return NULL;
  advance (parser);
  node = node_new (DOTHI_EXPR_NOT);
  node->a = parse_not (parser, error);
  if (node->a == NULL)
    {
      node_free (node);
      return NULL;
    }
  parser->depth--;
  return node;
}

static DothiExprNode *
parse_binary (Parser   *parser,
              DothiExprKind  kind,
              GError  **error)
{
  const char *keyword = kind == DOTHI_EXPR_OR ? "OR" : "AND";
  g_autoptr(DothiExprNode) left = NULL;

  left = kind == DOTHI_EXPR_OR ? parse_binary (parser, DOTHI_EXPR_AND, error) : parse_not (parser, error);
  if (left == NULL)
    return NULL;
  while (accept_keyword (parser, keyword))
    {
      DothiExprNode *node = node_new (kind);

      node->a = g_steal_pointer (&left);
      node->b = kind == DOTHI_EXPR_OR ? parse_binary (parser, DOTHI_EXPR_AND, error)
                                : parse_not (parser, error);
      left = node;
      if (node->b == NULL)
        return NULL;
    }
  return g_steal_pointer (&left);
}

static DothiExprNode *
parse_or (Parser *parser, GError **error)
{
  return parse_binary (parser, DOTHI_EXPR_OR, error);
}

/* ---- SQL ------------------------------------------------------------------ */

static void
append_param (GString *sql, GPtrArray *params, GVariant *value, gboolean folded)
{
  if (folded)
    {
      g_autofree char *text = dothi_text_fold (g_variant_get_string (value, NULL));
      g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_string (text)));
    }
  else
    g_ptr_array_add (params, g_variant_ref (value));
  g_string_append_printf (sql, "?%u", params->len);
}

static void
append_node (GString *sql, const DothiExprNode *node, const char *alias, GPtrArray *params)
{
  g_autoptr(DothiSqlStr) column = NULL;

  switch (node->kind)
    {
    case DOTHI_EXPR_OR:
    case DOTHI_EXPR_AND:
      g_string_append_c (sql, '(');
      append_node (sql, node->a, alias, params);
      g_string_append (sql, node->kind == DOTHI_EXPR_OR ? " OR " : " AND ");
      append_node (sql, node->b, alias, params);
      g_string_append_c (sql, ')');
      return;
    case DOTHI_EXPR_NOT:
      g_string_append (sql, "(NOT ");
      append_node (sql, node->a, alias, params);
      g_string_append_c (sql, ')');
      return;
    case DOTHI_EXPR_COMPARE:
    case DOTHI_EXPR_LIKE:
    case DOTHI_EXPR_IN:
    case DOTHI_EXPR_BETWEEN:
    case DOTHI_EXPR_IS_NULL:
      break;
    case DOTHI_EXPR_SPATIAL:
    default:
      /* Evaluated by dothi-query.c, never as SQL. */
      g_return_if_reached ();
    }

  column = alias != NULL ? sqlite3_mprintf ("\"%w\".\"%w\"", alias, node->column)
                         : sqlite3_mprintf ("\"%w\"", node->column);
  if (node->folded)
    g_string_append_printf (sql, "dothi_fold(%s)", column);
  else
    g_string_append (sql, column);

  switch (node->kind)
    {
    case DOTHI_EXPR_COMPARE:
      g_string_append_printf (sql, " %s ", node->op);
      append_param (sql, params, g_ptr_array_index (node->values, 0), node->folded);
      break;
    case DOTHI_EXPR_LIKE:
      g_string_append (sql, node->negated ? " NOT LIKE " : " LIKE ");
      append_param (sql, params, g_ptr_array_index (node->values, 0), node->folded);
      break;
    case DOTHI_EXPR_IN:
      g_string_append (sql, node->negated ? " NOT IN (" : " IN (");
      for (guint i = 0; i < node->values->len; i++)
        {
          if (i > 0)
            g_string_append (sql, ", ");
          append_param (sql, params, g_ptr_array_index (node->values, i), FALSE);
        }
      g_string_append_c (sql, ')');
      break;
    case DOTHI_EXPR_BETWEEN:
      g_string_append (sql, node->negated ? " NOT BETWEEN " : " BETWEEN ");
      append_param (sql, params, g_ptr_array_index (node->values, 0), FALSE);
      g_string_append (sql, " AND ");
      append_param (sql, params, g_ptr_array_index (node->values, 1), FALSE);
      break;
    case DOTHI_EXPR_IS_NULL:
      g_string_append (sql, node->negated ? " IS NOT NULL" : " IS NULL");
      break;
    case DOTHI_EXPR_OR:
    case DOTHI_EXPR_AND:
    case DOTHI_EXPR_NOT:
    default:
      g_assert_not_reached ();
    }
}

/* dothi_fold(text): only on the connections that register it, and
 * SQLITE_DIRECTONLY, so the project file never depends on it (QGIS opens
 * the same file without it). */
static void
fold_sql (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    {
      sqlite3_result_null (context);
      return;
    }
  sqlite3_result_text (context, dothi_text_fold ((const char *) sqlite3_value_text (argv[0])),
                       -1, g_free);
}

/* ---- public API ----------------------------------------------------------- */

static DothiExpression *
parse_internal (const char            *text,
                const DothiLayerInfo  *info,
                DothiLayerResolver     resolver,
                gpointer               resolver_data,
                GError               **error)
{
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(DothiExprNode) root = NULL;
  Parser parser = { 0, };
  g_autoptr(GError) local_error = NULL;
  DothiExpression *expr;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           _("The expression is not valid UTF-8 text"));
      return NULL;
    }

  tokens = g_array_new (FALSE, TRUE, sizeof (Token));
  g_array_set_clear_func (tokens, clear_token);
  parser.source = text;
  parser.info = info;
  parser.resolver = resolver;
  parser.resolver_data = resolver_data;
  parser.tokens = tokens;
  if (!tokenize (&parser, &parser.lex_error))
    {
      Token stop = { .type = TOKEN_ERROR, .start = "" };

      g_array_append_val (tokens, stop);
    }

  if (peek (&parser)->type == TOKEN_EOF)
    {
      g_set_error_literal (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           _("The expression is empty"));
      return NULL;
    }

  root = parse_or (&parser, &local_error);
  if (root != NULL && peek (&parser)->type != TOKEN_EOF)
    {
      if (peek (&parser)->type == TOKEN_RPAREN)
        g_set_error (&local_error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: a character position in the expression */
                     _("Unbalanced parentheses: the “)” at position %d closes nothing"),
                     peek (&parser)->pos);
      else
        set_unexpected (peek (&parser), &local_error);
    }
  if (local_error != NULL)
    {
      if (parser.reached_lex_error)
        g_propagate_error (error, g_steal_pointer (&parser.lex_error));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      g_clear_error (&parser.lex_error);
      return NULL;
    }
  g_assert (parser.lex_error == NULL);

  expr = g_new0 (DothiExpression, 1);
  expr->root = g_steal_pointer (&root);
  return expr;
}

DothiExpression *
dothi_expression_parse (const char            *text,
                        const DothiLayerInfo  *info,
                        GError               **error)
{
  return parse_internal (text, info, NULL, NULL, error);
}

DothiExpression *
dothi_expression_parse_spatial (const char            *text,
                                const DothiLayerInfo  *info,
                                DothiLayerResolver     resolver,
                                gpointer               resolver_data,
                                GError               **error)
{
  g_return_val_if_fail (resolver != NULL, NULL);
  return parse_internal (text, info, resolver, resolver_data, error);
}

const DothiExprNode *
dothi_expression_get_root (DothiExpression *expr)
{
  return expr->root;
}

gboolean
dothi_expression_node_is_spatial (const DothiExprNode *node)
{
  if (node == NULL)
    return FALSE;
  if (node->kind == DOTHI_EXPR_SPATIAL)
    return TRUE;
  if (node->kind == DOTHI_EXPR_OR || node->kind == DOTHI_EXPR_AND
      || node->kind == DOTHI_EXPR_NOT)
    return dothi_expression_node_is_spatial (node->a)
           || dothi_expression_node_is_spatial (node->b);
  return FALSE;
}

char *
dothi_expression_node_to_sql (const DothiExprNode  *node,
                              const char           *alias,
                              GPtrArray           **params)
{
  GString *sql;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (!dothi_expression_node_is_spatial (node), NULL);

  if (*params == NULL)
    *params = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  sql = g_string_new (NULL);
  append_node (sql, node, alias, *params);
  return g_string_free (sql, FALSE);
}

char *
dothi_expression_to_sql (DothiExpression  *expr,
                         const char       *alias,
                         GPtrArray       **params)
{
  GString *sql;

  g_return_val_if_fail (expr != NULL, NULL);
  g_return_val_if_fail (params != NULL, NULL);

  if (*params == NULL)
    *params = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  sql = g_string_new (NULL);
  append_node (sql, expr->root, alias, *params);
  return g_string_free (sql, FALSE);
}

gboolean
dothi_expression_bind (sqlite3_stmt  *stmt,
                       int            first_index,
                       GPtrArray     *params,
                       GError       **error)
{
  g_return_val_if_fail (stmt != NULL, FALSE);
  g_return_val_if_fail (params != NULL, FALSE);

  for (guint i = 0; i < params->len; i++)
    {
      GVariant *value = g_ptr_array_index (params, i);
      int index = first_index + (int) i;
      int rc;

      if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
        rc = sqlite3_bind_int64 (stmt, index, g_variant_get_int64 (value));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
        rc = sqlite3_bind_double (stmt, index, g_variant_get_double (value));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        rc = sqlite3_bind_int (stmt, index, g_variant_get_boolean (value) ? 1 : 0);
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        rc = sqlite3_bind_text (stmt, index, g_variant_get_string (value, NULL), -1,
                                SQLITE_TRANSIENT);
      else
        rc = SQLITE_MISMATCH;

      if (rc != SQLITE_OK)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                       /* Translators: parameter number, SQLite's message */
                       _("Could not bind value %d of the condition: %s"),
                       index, sqlite3_errstr (rc));
          return FALSE;
        }
    }
  return TRUE;
}

void
dothi_expression_register_functions (sqlite3 *db)
{
  int rc;

  g_return_if_fail (db != NULL);

  rc = sqlite3_create_function (db, "dothi_fold", 1,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                NULL, fold_sql, NULL, NULL);
  /* Fails only when out of memory; the statement that needs it then
   * fails to prepare with "no such function", which callers report. */
  if (rc != SQLITE_OK)
    g_debug ("dothi_fold: %s", sqlite3_errstr (rc));
}

void
dothi_expression_free (DothiExpression *expr)
{
  if (expr == NULL)
    return;
  node_free (expr->root);
  g_free (expr);
}

static int
cancelled_cb (void *data)
{
  return g_cancellable_is_cancelled (data) ? 1 : 0;
}

GArray *
dothi_expression_select_fids (const char       *path,
                              const char       *layer,
                              DothiExpression  *expr,
                              guint             limit,
                              gint64           *count,
                              GCancellable     *cancellable,
                              GError          **error)
{
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autofree char *where = NULL;
  sqlite3 *db = NULL;
  gint64 n = 0;
  int rc;

  g_return_val_if_fail (path != NULL && layer != NULL && expr != NULL, NULL);

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, SQLite's message */
                   _("Cannot open “%s”: %s"), path, db ? sqlite3_errmsg (db) : "");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_exec (db, "PRAGMA query_only = 1", NULL, NULL, NULL);
  sqlite3_busy_timeout (db, 5000);
  dothi_expression_register_functions (db);
  if (cancellable != NULL)
    sqlite3_progress_handler (db, 1000, cancelled_cb, cancellable);

  /* The table name comes from the registry the caller read; the
   * condition quotes its own columns and binds every value. */
  where = dothi_expression_to_sql (expr, NULL, &params);
  sql = sqlite3_mprintf ("SELECT fid FROM \"%w\" WHERE %s ORDER BY fid", layer, where);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK
      || !dothi_expression_bind (stmt, 1, params, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                     /* Translators: layer name, SQLite's message */
                     _("Cannot query layer “%s”: %s"), layer, sqlite3_errmsg (db));
      g_clear_pointer (&stmt, sqlite3_finalize);
      sqlite3_close (db);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);

      if (limit == 0 || fids->len < limit)
        g_array_append_val (fids, fid);
      n++;
    }
  if (rc != SQLITE_DONE)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        ;
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                     _("Cannot query layer “%s”: %s"), layer, sqlite3_errmsg (db));
      g_clear_pointer (&stmt, sqlite3_finalize);
      sqlite3_close (db);
      return NULL;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_close (db);
  if (count != NULL)
    *count = n;
  return g_steal_pointer (&fids);
}
