/* dothi-style.c: layer styles (single, categorised, graduated), their stable
 * JSON form and revision hash, lock-free symbol lookup for render threads,
 * and default styles with the Vietnamese land-use and zoning colours. */
#define G_LOG_DOMAIN "dothi-style"

#include "config.h"
#include "dothi-style.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STYLE_JSON_VERSION 1

G_DEFINE_BOXED_TYPE (DothiStyle, dothi_style, dothi_style_ref, dothi_style_unref)

/* ---- colours ------------------------------------------------------------ */

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

gboolean
dothi_color_parse (const char *text, DothiColor *color)
{
  guint8 bytes[4] = { 0, 0, 0, 255 };
  gsize len;
  guint n;

  g_return_val_if_fail (color != NULL, FALSE);

  if (text == NULL || text[0] != '#')
    return FALSE;
  len = strlen (text + 1);
  if (len != 6 && len != 8)
    return FALSE;
  n = len / 2;
  for (guint i = 0; i < n; i++)
    {
      int hi = hex_digit (text[1 + 2 * i]);
      int lo = hex_digit (text[2 + 2 * i]);

      if (hi < 0 || lo < 0)
        return FALSE;
      bytes[i] = (guint8) (hi * 16 + lo);
    }
  color->r = bytes[0] / 255.0;
  color->g = bytes[1] / 255.0;
  color->b = bytes[2] / 255.0;
  color->a = bytes[3] / 255.0;
  return TRUE;
}

static guint
channel_byte (double v)
{
  if (!(v > 0.0))   /* also NaN */
    return 0;
  if (v >= 1.0)
    return 255;
  return (guint) lround (v * 255.0);
}

char *
dothi_color_to_string (const DothiColor *color)
{
  guint a;

  g_return_val_if_fail (color != NULL, NULL);

  a = channel_byte (color->a);
  if (a == 255)
    return g_strdup_printf ("#%02x%02x%02x", channel_byte (color->r),
                            channel_byte (color->g), channel_byte (color->b));
  return g_strdup_printf ("#%02x%02x%02x%02x", channel_byte (color->r),
                          channel_byte (color->g), channel_byte (color->b), a);
}

static DothiColor
color_from_hex (const char *hex)
{
  DothiColor color = { 0, 0, 0, 1 };

  if (!dothi_color_parse (hex, &color))
    g_assert_not_reached ();
  return color;
}

/* Mixes towards black (@f < 1) for outlines of a fill colour. */
static DothiColor
color_darker (const DothiColor *c, double f)
{
  DothiColor d = { c->r * f, c->g * f, c->b * f, c->a };

  return d;
}

/* Mixes towards white by @t (0..1), for polygon fills of a strong colour. */
static DothiColor
color_lighter (const DothiColor *c, double t)
{
  DothiColor d = {
    c->r + (1.0 - c->r) * t,
    c->g + (1.0 - c->g) * t,
    c->b + (1.0 - c->b) * t,
    c->a,
  };

  return d;
}

/* ---- the boxed type ------------------------------------------------------ */

static void
rule_free (DothiStyleRule *rule)
{
  if (rule == NULL)
    return;
  g_free (rule->label);
  g_free (rule->value);
  g_free (rule);
}

static void
style_clear (DothiStyle *style)
{
  g_free (style->field);
  g_clear_pointer (&style->rules, g_ptr_array_unref);
  g_free (style->other_label);
  g_free (style->label_field);
}

DothiStyle *
dothi_style_new (DothiStyleKind kind)
{
  DothiStyle *style = g_atomic_rc_box_new0 (DothiStyle);

  style->kind = kind;
  style->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_free);
  style->other.fill = color_from_hex ("#bdbdbd");
  style->other.stroke = color_from_hex ("#616161");
  style->other.stroke_width = 1.0;
  style->other.marker_size = 7.0;
  style->other.marker = DOTHI_MARKER_CIRCLE;
  style->draw_other = TRUE;
  style->outline_min_px = 3.0;
  style->label_max_resolution = 2.0;
  return style;
}

DothiStyle *
dothi_style_ref (DothiStyle *style)
{
  g_return_val_if_fail (style != NULL, NULL);

  return g_atomic_rc_box_acquire (style);
}

void
dothi_style_unref (DothiStyle *style)
{
  g_return_if_fail (style != NULL);

  g_atomic_rc_box_release_full (style, (GDestroyNotify) style_clear);
}

DothiStyle *
dothi_style_copy (const DothiStyle *style)
{
  DothiStyle *copy;

  g_return_val_if_fail (style != NULL, NULL);

  copy = dothi_style_new (style->kind);
  copy->field = g_strdup (style->field);
  for (guint i = 0; i < style->rules->len; i++)
    {
      const DothiStyleRule *r = g_ptr_array_index (style->rules, i);

      dothi_style_add_rule (copy, r->label, r->value, r->min, r->max, &r->symbol);
    }
  copy->other = style->other;
  copy->draw_other = style->draw_other;
  copy->other_label = g_strdup (style->other_label);
  copy->outline_min_px = style->outline_min_px;
  copy->label_field = g_strdup (style->label_field);
  copy->label_max_resolution = style->label_max_resolution;
  copy->max_resolution = style->max_resolution;
  return copy;
}

void
dothi_style_add_rule (DothiStyle        *style,
                      const char        *label,
                      const char        *value,
                      double             min,
                      double             max,
                      const DothiSymbol *symbol)
{
  DothiStyleRule *rule;

  g_return_if_fail (style != NULL);
  g_return_if_fail (symbol != NULL);

  rule = g_new0 (DothiStyleRule, 1);
  rule->label = g_strdup (label);
  rule->value = g_strdup (value);
  rule->min = min;
  rule->max = max;
  rule->symbol = *symbol;
  g_ptr_array_add (style->rules, rule);
}

/* ---- names of enums in JSON --------------------------------------------- */

static const char * const kind_names[] = {
  [DOTHI_STYLE_SINGLE] = "single",
  [DOTHI_STYLE_CATEGORISED] = "categorised",
  [DOTHI_STYLE_GRADUATED] = "graduated",
};

static const char * const marker_names[] = {
  [DOTHI_MARKER_CIRCLE] = "circle",
  [DOTHI_MARKER_SQUARE] = "square",
  [DOTHI_MARKER_TRIANGLE] = "triangle",
  [DOTHI_MARKER_DIAMOND] = "diamond",
};

static int
name_index (const char * const *names, guint n, const char *name)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (names[i], name) == 0)
      return (int) i;
  return -1;
}

/* ---- writing JSON --------------------------------------------------------- */

/* Infinite class bounds ("100 and more") are written as null. */
static void
add_number (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_string (JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name (b, name);
  if (v != NULL)
    json_builder_add_string_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_color (JsonBuilder *b, const char *name, const DothiColor *c)
{
  g_autofree char *text = dothi_color_to_string (c);

  add_string (b, name, text);
}

static void
add_symbol (JsonBuilder *b, const char *name, const DothiSymbol *s)
{
  guint marker = (guint) s->marker < G_N_ELEMENTS (marker_names)
                 ? (guint) s->marker : DOTHI_MARKER_CIRCLE;

  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  add_color (b, "fill", &s->fill);
  add_color (b, "stroke", &s->stroke);
  add_number (b, "stroke_width", s->stroke_width);
  add_string (b, "marker", marker_names[marker]);
  add_number (b, "marker_size", s->marker_size);
  json_builder_end_object (b);
}

/* json-glib's generator writes every double with "%.17g" (0.6 becomes
 * 0.59999999999999998), so the tree is written here with the shortest text
 * that reads back as the same double, always in the C locale. */
static void
write_double (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (v == floor (v) && fabs (v) < 1e15)
    {
      g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) v);
      return;
    }
  for (int digits = 15; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (out, buf);
}

static void
write_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static void
write_node (GString *out, JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (object);
        gboolean first = TRUE;

        /* json-glib keeps members in insertion order. */
        g_string_append_c (out, '{');
        for (GList *l = members; l != NULL; l = l->next)
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            write_string (out, l->data);
            g_string_append_c (out, ':');
            write_node (out, json_object_get_member (object, l->data));
          }
        g_string_append_c (out, '}');
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        default:
          write_double (out, json_node_get_double (node));
          break;
        }
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
      break;
    }
}

char *
dothi_style_to_json (const DothiStyle *style)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GString *out;
  guint kind;

  g_return_val_if_fail (style != NULL, NULL);

  kind = (guint) style->kind < G_N_ELEMENTS (kind_names)
         ? (guint) style->kind : DOTHI_STYLE_SINGLE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, STYLE_JSON_VERSION);
  add_string (b, "kind", kind_names[kind]);
  add_string (b, "field", style->field);
  json_builder_set_member_name (b, "draw_other");
  json_builder_add_boolean_value (b, style->draw_other);
  add_string (b, "other_label", style->other_label);
  add_symbol (b, "other", &style->other);
  add_number (b, "outline_min_px", style->outline_min_px);
  add_string (b, "label_field", style->label_field);
  add_number (b, "label_max_resolution", style->label_max_resolution);
  add_number (b, "max_resolution", style->max_resolution);
  json_builder_set_member_name (b, "rules");
  json_builder_begin_array (b);
  for (guint i = 0; i < style->rules->len; i++)
    {
      const DothiStyleRule *r = g_ptr_array_index (style->rules, i);

      json_builder_begin_object (b);
      add_string (b, "label", r->label);
      if (kind == DOTHI_STYLE_GRADUATED)
        {
          add_number (b, "min", r->min);
          add_number (b, "max", r->max);
        }
      else
        add_string (b, "value", r->value);
      add_symbol (b, "symbol", &r->symbol);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  out = g_string_new (NULL);
  write_node (out, root);
  return g_string_free (out, FALSE);
}

guint64
dothi_style_get_revision (const DothiStyle *style)
{
  g_autofree char *json = NULL;
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);  /* FNV-1a 64 */

  g_return_val_if_fail (style != NULL, 0);

  json = dothi_style_to_json (style);
  for (const guchar *p = (const guchar *) json; *p; p++)
    {
      hash ^= *p;
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return hash;
}

/* ---- reading JSON --------------------------------------------------------- */

static gboolean
malformed (const char *layer, const char *key, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: layer name, then a key of the style's JSON
                * such as “stroke_width” */
               _("The style of layer “%s” has a malformed “%s” entry"),
               layer, key);
  return FALSE;
}

/* The member @key of @object if present and not null; FALSE when it is
 * present with a type other than @type. A missing member keeps its
 * default, so hand-written styles may leave out what they do not need. */
static gboolean
get_member (JsonObject  *object,
            const char  *key,
            GType        type,
            JsonNode   **out,
            const char  *layer,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (type == JSON_TYPE_OBJECT)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return malformed (layer, key, error);
    }
  else if (type == JSON_TYPE_ARRAY)
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return malformed (layer, key, error);
    }
  else
    {
      GType vt;

      if (!JSON_NODE_HOLDS_VALUE (node))
        return malformed (layer, key, error);
      vt = json_node_get_value_type (node);
      if (type == G_TYPE_DOUBLE ? (vt != G_TYPE_DOUBLE && vt != G_TYPE_INT64)
                                : vt != type)
        return malformed (layer, key, error);
    }
  *out = node;
  return TRUE;
}

static gboolean
read_string (JsonObject *object, const char *key, char **out,
             const char *layer, GError **error)
{
  JsonNode *node;

  if (!get_member (object, key, G_TYPE_STRING, &node, layer, error))
    return FALSE;
  g_free (*out);
  *out = node != NULL ? g_strdup (json_node_get_string (node)) : NULL;
  return TRUE;
}

/* Null keeps @fallback: infinite class bounds are written as null. */
static gboolean
read_number (JsonObject *object, const char *key, double *out,
             double fallback, gboolean non_negative,
             const char *layer, GError **error)
{
  JsonNode *node;
  double v;

  if (!get_member (object, key, G_TYPE_DOUBLE, &node, layer, error))
    return FALSE;
  if (node == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  v = json_node_get_double (node);
  if (!isfinite (v) || (non_negative && v < 0))
    return malformed (layer, key, error);
  *out = v;
  return TRUE;
}

static gboolean
read_color (JsonObject *object, const char *key, DothiColor *out,
            const char *layer, GError **error)
{
  JsonNode *node;
  const char *text;

  if (!get_member (object, key, G_TYPE_STRING, &node, layer, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  text = json_node_get_string (node);
  if (!dothi_color_parse (text, out))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name, the colour text such as “#12zz00” */
                   _("The style of layer “%s” has an invalid colour “%s”"),
                   layer, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_symbol (JsonObject *object, const char *key, DothiSymbol *out,
             const char *layer, GError **error)
{
  JsonNode *node;
  JsonObject *sym;
  g_autofree char *marker = NULL;

  if (!get_member (object, key, JSON_TYPE_OBJECT, &node, layer, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  sym = json_node_get_object (node);
  if (!read_color (sym, "fill", &out->fill, layer, error)
      || !read_color (sym, "stroke", &out->stroke, layer, error)
      || !read_number (sym, "stroke_width", &out->stroke_width,
                       out->stroke_width, TRUE, layer, error)
      || !read_number (sym, "marker_size", &out->marker_size,
                       out->marker_size, TRUE, layer, error)
      || !read_string (sym, "marker", &marker, layer, error))
    return FALSE;
  if (marker != NULL)
    {
      int m = name_index (marker_names, G_N_ELEMENTS (marker_names), marker);

      if (m < 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: layer name, marker name from the file */
                       _("The style of layer “%s” has an unknown marker “%s”"),
                       layer, marker);
          return FALSE;
        }
      out->marker = (DothiMarker) m;
    }
  return TRUE;
}

static gboolean
read_rules (DothiStyle *style, JsonArray *rules, const char *layer,
            GError **error)
{
  guint n = json_array_get_length (rules);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (rules, i);
      JsonObject *object;
      g_autofree char *label = NULL;
      g_autofree char *value = NULL;
      double min = -INFINITY, max = INFINITY;
      DothiSymbol symbol = style->other;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return malformed (layer, "rules", error);
      object = json_node_get_object (node);
      if (!read_string (object, "label", &label, layer, error)
          || !read_string (object, "value", &value, layer, error)
          || !read_number (object, "min", &min, -INFINITY, FALSE, layer, error)
          || !read_number (object, "max", &max, INFINITY, FALSE, layer, error)
          || !read_symbol (object, "symbol", &symbol, layer, error))
        return FALSE;
      if (style->kind == DOTHI_STYLE_GRADUATED && !(min <= max))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: class label, layer name */
                       _("Class “%s” in the style of layer “%s” has a minimum above its maximum"),
                       label != NULL ? label : "", layer);
          return FALSE;
        }
      dothi_style_add_rule (style, label, value, min, max, &symbol);
    }
  return TRUE;
}

DothiStyle *
dothi_style_new_from_json (const char  *json,
                           const char  *layer,
                           GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(DothiStyle) style = NULL;
  g_autofree char *kind = NULL;
  JsonObject *root;
  JsonNode *node;
  int k;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (layer == NULL)
    layer = "";

  if (!json_parser_load_from_data (parser, json, -1, &local_error))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name, then the JSON parser's message */
                   _("The style of layer “%s” is not valid JSON: %s"),
                   layer, local_error->message);
      return NULL;
    }
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name */
                   _("The style of layer “%s” is not a JSON object"), layer);
      return NULL;
    }
  root = json_node_get_object (node);

  if (!read_string (root, "kind", &kind, layer, error))
    return NULL;
  k = name_index (kind_names, G_N_ELEMENTS (kind_names), kind);
  if (k < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name, the style kind from the file */
                   _("The style of layer “%s” has an unknown kind “%s”"),
                   layer, kind != NULL ? kind : "");
      return NULL;
    }

  style = dothi_style_new ((DothiStyleKind) k);
  if (!get_member (root, "draw_other", G_TYPE_BOOLEAN, &node, layer, error))
    return NULL;
  if (node != NULL)
    style->draw_other = json_node_get_boolean (node);
  if (!read_string (root, "field", &style->field, layer, error)
      || !read_string (root, "other_label", &style->other_label, layer, error)
      || !read_symbol (root, "other", &style->other, layer, error)
      || !read_number (root, "outline_min_px", &style->outline_min_px,
                       style->outline_min_px, TRUE, layer, error)
      || !read_string (root, "label_field", &style->label_field, layer, error)
      || !read_number (root, "label_max_resolution", &style->label_max_resolution,
                       style->label_max_resolution, TRUE, layer, error)
      || !read_number (root, "max_resolution", &style->max_resolution,
                       style->max_resolution, TRUE, layer, error))
    return NULL;

  if (style->kind != DOTHI_STYLE_SINGLE
      && (style->field == NULL || style->field[0] == '\0'))
    {
      if (style->kind == DOTHI_STYLE_CATEGORISED)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: layer name */
                     _("The categorised style of layer “%s” names no field"),
                     layer);
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: layer name */
                     _("The graduated style of layer “%s” names no field"),
                     layer);
      return NULL;
    }

  if (!get_member (root, "rules", JSON_TYPE_ARRAY, &node, layer, error))
    return NULL;
  if (node != NULL && !read_rules (style, json_node_get_array (node), layer, error))
    return NULL;

  return g_steal_pointer (&style);
}

/* ---- lookup ----------------------------------------------------------------
 * Called by render threads for every feature: reads only, allocates nothing. */

static const DothiSymbol *
unmatched (const DothiStyle *style)
{
  return style->draw_other ? &style->other : NULL;
}

const DothiSymbol *
dothi_style_lookup_number (const DothiStyle *style,
                           double            value)
{
  g_return_val_if_fail (style != NULL, NULL);

  switch (style->kind)
    {
    case DOTHI_STYLE_SINGLE:
      return &style->other;

    case DOTHI_STYLE_GRADUATED:
      if (isnan (value))
        return unmatched (style);
      for (guint i = 0; i < style->rules->len; i++)
        {
          const DothiStyleRule *r = g_ptr_array_index (style->rules, i);

          if (value >= r->min && value < r->max)
            return &r->symbol;
        }
      return unmatched (style);

    case DOTHI_STYLE_CATEGORISED:
    default:
      {
        /* A number field's values are categorised by their text ("5",
         * "0.25"): the shortest form that reads back as @value. */
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        if (!isfinite (value))
          return unmatched (style);
        if (value == floor (value) && fabs (value) < 1e15)
          g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, (gint64) value);
        else
          {
            g_ascii_formatd (buf, sizeof buf, "%.15g", value);
            if (g_ascii_strtod (buf, NULL) != value)
              g_ascii_formatd (buf, sizeof buf, "%.17g", value);
          }
        return dothi_style_lookup_text (style, buf);
      }
    }
}

const DothiSymbol *
dothi_style_lookup_text (const DothiStyle *style,
                         const char       *text)
{
  g_return_val_if_fail (style != NULL, NULL);

  switch (style->kind)
    {
    case DOTHI_STYLE_SINGLE:
      return &style->other;

    case DOTHI_STYLE_GRADUATED:
      {
        char *end = NULL;
        double v;

        if (text == NULL)
          return unmatched (style);
        while (g_ascii_isspace (*text))
          text++;
        if (*text == '\0')
          return unmatched (style);
        v = g_ascii_strtod (text, &end);
        while (end != NULL && g_ascii_isspace (*end))
          end++;
        if (end == text || end == NULL || *end != '\0')
          return unmatched (style);
        return dothi_style_lookup_number (style, v);
      }

    case DOTHI_STYLE_CATEGORISED:
    default:
      for (guint i = 0; i < style->rules->len; i++)
        {
          const DothiStyleRule *r = g_ptr_array_index (style->rules, i);

          /* A rule without a value matches features whose field is null. */
          if (text == NULL ? r->value == NULL
                           : (r->value != NULL && strcmp (r->value, text) == 0))
            return &r->symbol;
        }
      return unmatched (style);
    }
}

/* ---- land-use codes ------------------------------------------------------ *
 * Codes of Circular 27/2018/TT-BTNMT (which keeps those of 25/2014 and adds a
 * few), group codes, and the legacy TSN/TSL of Circular 08/2007. Colours
 * follow the land-use status map conventions: đất ở pink/magenta, rice
 * yellow, annual crops pale yellow, perennial crops peach, forest greens,
 * water blues, public facilities orange-red, business and industry violet,
 * defence and security red, transport amber, unused land off-white. */

typedef struct {
  const char *code;
  const char *color;
  const char *name;   /* data convention, not a UI string */
} LandUse;

static const LandUse land_uses[] = {
  /* Nông nghiệp */
  { "NNP", "#f0f0a0", "Nhóm đất nông nghiệp" },
  { "SXN", "#fff5a0", "Đất sản xuất nông nghiệp" },
  { "CHN", "#fff0b4", "Đất trồng cây hằng năm" },
  { "LUA", "#fffc78", "Đất trồng lúa" },
  { "LUC", "#fffc78", "Đất chuyên trồng lúa nước" },
  { "LUK", "#fffc96", "Đất trồng lúa nước còn lại" },
  { "LUN", "#fffcb4", "Đất trồng lúa nương" },
  { "HNK", "#fff0b4", "Đất trồng cây hằng năm khác" },
  { "BHK", "#fff0b4", "Đất bằng trồng cây hằng năm khác" },
  { "NHK", "#ffe6aa", "Đất nương rẫy trồng cây hằng năm khác" },
  { "CLN", "#ffd2a0", "Đất trồng cây lâu năm" },
  { "LNP", "#9be69b", "Đất lâm nghiệp" },
  { "RSX", "#b4ffb4", "Đất rừng sản xuất" },
  { "RPH", "#78d778", "Đất rừng phòng hộ" },
  { "RDD", "#3caa5a", "Đất rừng đặc dụng" },
  { "NTS", "#aaffff", "Đất nuôi trồng thủy sản" },
  { "TSN", "#aaffff", "Đất nuôi trồng thủy sản nước ngọt" },
  { "TSL", "#96f0f0", "Đất nuôi trồng thủy sản nước lợ, mặn" },
  { "LMU", "#dcebff", "Đất làm muối" },
  { "NKH", "#f5ffb4", "Đất nông nghiệp khác" },
  /* Phi nông nghiệp: đất ở */
  { "PNN", "#ffc8c8", "Nhóm đất phi nông nghiệp" },
  { "OCT", "#ffa0ff", "Đất ở" },
  { "ODT", "#ffa0ff", "Đất ở tại đô thị" },
  { "ONT", "#ffd0ff", "Đất ở tại nông thôn" },
  /* Chuyên dùng: cơ quan, quốc phòng, an ninh, sự nghiệp */
  { "CDG", "#ffaaa0", "Đất chuyên dùng" },
  { "TSC", "#ff8c78", "Đất xây dựng trụ sở cơ quan" },
  { "CQP", "#ff6464", "Đất quốc phòng" },
  { "CAN", "#f05050", "Đất an ninh" },
  { "DSN", "#ffaa8c", "Đất xây dựng công trình sự nghiệp" },
  { "DTS", "#ffa08c", "Đất xây dựng trụ sở của tổ chức sự nghiệp" },
  { "DVH", "#ff9664", "Đất xây dựng cơ sở văn hóa" },
  { "DXH", "#ffb48c", "Đất xây dựng cơ sở dịch vụ xã hội" },
  { "DYT", "#ff6e5a", "Đất xây dựng cơ sở y tế" },
  { "DGD", "#ff8c46", "Đất xây dựng cơ sở giáo dục và đào tạo" },
  { "DTT", "#ffaa78", "Đất xây dựng cơ sở thể dục thể thao" },
  { "DKH", "#ffb4a0", "Đất xây dựng cơ sở khoa học và công nghệ" },
  { "DNG", "#ffa5a5", "Đất xây dựng cơ sở ngoại giao" },
  { "DSK", "#ffbeaa", "Đất xây dựng công trình sự nghiệp khác" },
  /* Sản xuất, kinh doanh phi nông nghiệp */
  { "CSK", "#b496dc", "Đất sản xuất, kinh doanh phi nông nghiệp" },
  { "SKK", "#a082d2", "Đất khu công nghiệp" },
  { "SKT", "#9678c8", "Đất khu chế xuất" },
  { "SKN", "#aa8cdc", "Đất cụm công nghiệp" },
  { "TMD", "#c8a0e6", "Đất thương mại, dịch vụ" },
  { "SKC", "#b496dc", "Đất cơ sở sản xuất phi nông nghiệp" },
  { "SKS", "#cdaacd", "Đất sử dụng cho hoạt động khoáng sản" },
  { "SKX", "#d2b4d2", "Đất sản xuất vật liệu xây dựng, làm đồ gốm" },
  /* Mục đích công cộng */
  { "CCC", "#ffc8a0", "Đất có mục đích công cộng" },
  { "DGT", "#ffaa32", "Đất giao thông" },
  { "DTL", "#82c8f0", "Đất thủy lợi" },
  { "DDT", "#d2a078", "Đất có di tích lịch sử - văn hóa" },
  { "DDL", "#b4dca0", "Đất có danh lam thắng cảnh" },
  { "DSH", "#ffb4a0", "Đất sinh hoạt cộng đồng" },
  { "DKV", "#a0e68c", "Đất khu vui chơi, giải trí công cộng" },
  { "DNL", "#f0b450", "Đất công trình năng lượng" },
  { "DBV", "#e6b4a0", "Đất công trình bưu chính, viễn thông" },
  { "DKG", "#c8b4dc", "Đất xây dựng kho dự trữ quốc gia" },
  { "DCH", "#d7aae6", "Đất chợ" },
  { "DRA", "#bea58c", "Đất bãi thải, xử lý chất thải" },
  { "DCK", "#ffc8b4", "Đất công trình công cộng khác" },
  /* Tôn giáo, nghĩa trang, mặt nước, khác */
  { "TON", "#dca078", "Đất cơ sở tôn giáo" },
  { "TIN", "#e6b48c", "Đất cơ sở tín ngưỡng" },
  { "NTD", "#c8c8b4", "Đất làm nghĩa trang, nghĩa địa, nhà tang lễ, nhà hỏa táng" },
  { "SON", "#9bd7ff", "Đất sông, ngòi, kênh, rạch, suối" },
  { "MNC", "#b4e6ff", "Đất có mặt nước chuyên dùng" },
  { "PNK", "#f0d2c8", "Đất phi nông nghiệp khác" },
  /* Chưa sử dụng */
  { "CSD", "#f0f0e1", "Nhóm đất chưa sử dụng" },
  { "BCS", "#f5f5eb", "Đất bằng chưa sử dụng" },
  { "DCS", "#ebebd7", "Đất đồi núi chưa sử dụng" },
  { "NCS", "#d7d2be", "Núi đá không có rừng cây" },
};

static int
land_use_index_len (const char *code, gsize len)
{
  if (code == NULL || len != 3)
    return -1;
  for (guint i = 0; i < G_N_ELEMENTS (land_uses); i++)
    if (g_ascii_strncasecmp (land_uses[i].code, code, 3) == 0)
      return (int) i;
  return -1;
}

static int
land_use_index (const char *code)
{
  return code != NULL ? land_use_index_len (code, strlen (code)) : -1;
}

gboolean
dothi_style_land_use_color (const char *code, DothiColor *color)
{
  int i = land_use_index (code);

  g_return_val_if_fail (color != NULL, FALSE);

  if (i < 0)
    return FALSE;
  *color = color_from_hex (land_uses[i].color);
  return TRUE;
}

const char *
dothi_style_land_use_name (const char *code)
{
  int i = land_use_index (code);

  return i >= 0 ? land_uses[i].name : NULL;
}

/* Index of the first code of @value ("ODT", " odt ", or a mixed parcel
 * "ODT+CLN" whose parts are all known), or -1. Fills @parts when given. */
static int
land_use_value_index (const char *value, GPtrArray *parts)
{
  g_auto(GStrv) split = NULL;
  int first = -1;

  if (value == NULL)
    return -1;
  split = g_strsplit (value, "+", 0);
  for (guint i = 0; split[i] != NULL; i++)
    {
      int k;

      g_strstrip (split[i]);
      k = land_use_index (split[i]);
      if (k < 0)
        return -1;
      if (first < 0)
        first = k;
      if (parts != NULL)
        g_ptr_array_add (parts, (gpointer) land_uses[k].code);
    }
  return first;
}

/* ---- zoning functions (Circular 04/2022/TT-BXD planning colours) ---------
 * Matched on folded text (lower case, no tone marks, đ → d) after an
 * optional leading "dat " or "khu ", by word prefix; first match wins, so
 * longer prefixes come first. Bare words that also begin street names or
 * road classes ("Đường…", "Hồ…", "Sông…") are left out on purpose. */

typedef struct {
  const char *prefix;
  const char *color;
} Zoning;

static const Zoning zonings[] = {
  /* đất ở */
  { "o hien huu", "#ffc88c" },
  { "o hien trang", "#ffc88c" },
  { "o chinh trang", "#ffc88c" },
  { "o cai tao", "#ffc88c" },
  { "o moi", "#ff9f40" },
  { "o nong thon", "#ffdc96" },
  { "o lang xom", "#ffdc96" },
  { "o biet thu", "#ffb46e" },
  { "o do thi", "#ffb46e" },
  { "nha o", "#ffb46e" },
  { "nhom nha o", "#ffb46e" },
  { "don vi o", "#ffb46e" },
  { "o", "#ffb46e" },
  { "hon hop", "#e8a07a" },
  /* cây xanh, nông lâm nghiệp */
  { "cay xanh cach ly", "#6cbf6c" },
  { "cay xanh", "#8fd694" },
  { "cong vien", "#8fd694" },
  { "vuon hoa", "#8fd694" },
  { "nong nghiep", "#dcf0a0" },
  { "lam nghiep", "#5fae5f" },
  { "rung", "#5fae5f" },
  /* công cộng và dịch vụ công */
  { "cong trinh cong cong", "#f28ca0" },
  { "cong cong", "#f28ca0" },
  { "giao duc", "#f4a0a0" },
  { "truong hoc", "#f4a0a0" },
  { "y te", "#e8647d" },
  { "benh vien", "#e8647d" },
  { "van hoa", "#f5aac8" },
  { "the duc the thao", "#ffb48c" },
  { "the thao", "#ffb48c" },
  { "tdtt", "#ffb48c" },
  { "co quan", "#ee9a9a" },
  { "tru so", "#ee9a9a" },
  /* thương mại, công nghiệp */
  { "thuong mai dich vu", "#eb5a6e" },
  { "thuong mai", "#eb5a6e" },
  { "dich vu", "#eb5a6e" },
  { "du lich", "#f590aa" },
  { "cong nghiep", "#b49bdc" },
  { "cum cong nghiep", "#b49bdc" },
  { "tieu thu cong nghiep", "#b49bdc" },
  { "kho tang", "#cdbdeb" },
  { "kho bai", "#cdbdeb" },
  /* quốc phòng, an ninh */
  { "quoc phong", "#a7a95c" },
  { "an ninh", "#8e9450" },
  /* mặt nước */
  { "mat nuoc", "#8ccbf0" },
  { "song ho", "#8ccbf0" },
  { "ho dieu hoa", "#8ccbf0" },
  { "ho nuoc", "#8ccbf0" },
  { "kenh muong", "#8ccbf0" },
  { "kenh rach", "#8ccbf0" },
  /* giao thông, hạ tầng */
  { "giao thong", "#c4c4c4" },
  { "bai do xe", "#b4b4b4" },
  { "ha tang ky thuat", "#9cb4cc" },
  { "dau moi ha tang", "#9cb4cc" },
  { "cong trinh dau moi", "#9cb4cc" },
  /* khác */
  { "ton giao", "#c9a27e" },
  { "tin nguong", "#c9a27e" },
  { "di tich", "#c9a27e" },
  { "nghia trang", "#a9b3a0" },
  { "nghia dia", "#a9b3a0" },
  { "du tru phat trien", "#ede6d6" },
  { "chua su dung", "#f0eee0" },
};

/* Lower case ASCII: tone marks and other diacritics removed, đ → d, any
 * other character a space, runs of spaces one, trimmed. */
static char *
fold_text (const char *text)
{
  g_autofree char *nfd = NULL;
  GString *out;
  gboolean space = TRUE;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return g_strdup ("");
  nfd = g_utf8_normalize (text, -1, G_NORMALIZE_NFD);
  out = g_string_new (NULL);
  for (const char *p = nfd; p != NULL && *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_ismark (c))
        continue;
      if (c == 0x0111 || c == 0x0110)   /* đ Đ */
        c = 'd';
      c = g_unichar_tolower (c);
      if (c < 0x80 && g_ascii_isalnum ((char) c))
        {
          g_string_append_c (out, (char) c);
          space = FALSE;
        }
      else if (!space)
        {
          g_string_append_c (out, ' ');
          space = TRUE;
        }
    }
  if (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

static gboolean
has_word_prefix (const char *text, const char *prefix)
{
  gsize n = strlen (prefix);

  return strncmp (text, prefix, n) == 0 && (text[n] == '\0' || text[n] == ' ');
}

static int
zoning_index (const char *value)
{
  g_autofree char *folded = fold_text (value);
  const char *key = folded;

  if (has_word_prefix (key, "dat"))
    key += key[3] == ' ' ? 4 : 3;
  else if (has_word_prefix (key, "khu"))
    key += key[3] == ' ' ? 4 : 3;
  if (*key == '\0')
    return -1;
  for (guint i = 0; i < G_N_ELEMENTS (zonings); i++)
    if (has_word_prefix (key, zonings[i].prefix))
      return (int) i;
  return -1;
}

/* ---- default styles ------------------------------------------------------ */

static DothiSymbol
symbol_for (DothiGeometryKind kind, const DothiColor *color)
{
  DothiSymbol s = { 0 };

  s.fill = *color;
  s.stroke = color_darker (color, 0.62);
  s.marker = DOTHI_MARKER_CIRCLE;
  s.marker_size = 7.0;
  switch (kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      s.stroke_width = 1.0;
      break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      s.stroke = *color;
      s.stroke_width = 1.5;
      break;
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      s.stroke_width = 1.0;
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      s.stroke_width = 0.6;
      break;
    }
  return s;
}

static GPtrArray *
sample_of (const DothiLayerInfo *info, GHashTable *values, const DothiField *f)
{
  if (values == NULL || f->type != DOTHI_FIELD_TEXT)
    return NULL;
  return g_hash_table_lookup (values, f->name);
}

typedef int (*ClassifyFunc) (const char *value);

static int
land_use_classify (const char *value)
{
  return land_use_value_index (value, NULL);
}

/* The first text field whose non-empty sampled values mostly (>= 60 %)
 * classify, or NULL. */
static const DothiField *
find_classified_field (const DothiLayerInfo *info,
                       GHashTable           *values,
                       ClassifyFunc          classify)
{
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      GPtrArray *sample = sample_of (info, values, f);
      guint total = 0, known = 0;

      if (sample == NULL)
        continue;
      for (guint j = 0; j < sample->len; j++)
        {
          const char *v = g_ptr_array_index (sample, j);

          if (v == NULL || v[strspn (v, " \t")] == '\0')
            continue;
          total++;
          if (classify (v) >= 0)
            known++;
        }
      if (total > 0 && known * 10 >= total * 6)
        return f;
    }
  return NULL;
}

typedef struct {
  const char *value;
  int         index;
} Classified;

static int
compare_classified (gconstpointer a, gconstpointer b)
{
  const Classified *x = a, *y = b;

  if (x->index != y->index)
    return x->index < y->index ? -1 : 1;
  return strcmp (x->value, y->value);
}

/* The sampled values of @field that classify, in table order, without
 * repeats. */
static GArray *
classified_values (GPtrArray *sample, ClassifyFunc classify)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (Classified));
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint j = 0; j < sample->len; j++)
    {
      Classified c = { g_ptr_array_index (sample, j), -1 };

      if (c.value == NULL || !g_hash_table_add (seen, (gpointer) c.value))
        continue;
      c.index = classify (c.value);
      if (c.index >= 0)
        g_array_append_val (out, c);
    }
  g_array_sort (out, compare_classified);
  return out;
}

static void
set_other_for_classes (DothiStyle *style, DothiGeometryKind kind)
{
  DothiColor grey = color_from_hex ("#e0e0e0");

  style->other = symbol_for (kind, &grey);
  style->draw_other = TRUE;
  g_free (style->other_label);
  style->other_label = g_strdup (_("Other values"));
}

static DothiStyle *
land_use_style (const DothiLayerInfo *info, GHashTable *values,
                const DothiField *field)
{
  DothiStyle *style = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  g_autoptr(GArray) classes =
    classified_values (sample_of (info, values, field), land_use_classify);

  style->field = g_strdup (field->name);
  set_other_for_classes (style, info->kind);
  for (guint i = 0; i < classes->len; i++)
    {
      const Classified *c = &g_array_index (classes, Classified, i);
      g_autoptr(GPtrArray) parts = g_ptr_array_new ();
      g_autoptr(GString) label = g_string_new (c->value);
      DothiColor color = color_from_hex (land_uses[c->index].color);
      DothiSymbol symbol = symbol_for (info->kind, &color);

      g_strstrip (label->str);
      g_string_set_size (label, strlen (label->str));
      land_use_value_index (c->value, parts);
      g_string_append (label, " — ");
      for (guint k = 0; k < parts->len; k++)
        {
          if (k > 0)
            g_string_append (label, " + ");
          g_string_append (label, dothi_style_land_use_name (parts->pdata[k]));
        }
      dothi_style_add_rule (style, label->str, c->value, 0, 0, &symbol);
    }
  return style;
}

static DothiStyle *
zoning_style (const DothiLayerInfo *info, GHashTable *values,
              const DothiField *field)
{
  DothiStyle *style = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  g_autoptr(GArray) classes =
    classified_values (sample_of (info, values, field), zoning_index);

  style->field = g_strdup (field->name);
  set_other_for_classes (style, info->kind);
  for (guint i = 0; i < classes->len; i++)
    {
      const Classified *c = &g_array_index (classes, Classified, i);
      DothiColor color = color_from_hex (zonings[c->index].color);
      DothiSymbol symbol = symbol_for (info->kind, &color);

      /* Zoning is read over the parcels it governs: a half-transparent
       * wash with a firm boundary keeps both legible. */
      if (info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
        {
          symbol.fill.a = 0.5;
          symbol.stroke_width = 1.2;
        }
      dothi_style_add_rule (style, c->value, c->value, 0, 0, &symbol);
    }
  return style;
}

/* ---- status markers for point layers ---------------------------------- */

static const char * const status_fields[] = {
  "trang thai", "trangthai", "tinh trang", "status", "state",
};
static const char * const status_good[] = {
  "mo", "dang mo", "open", "opened", "on", "hoat dong", "dang hoat dong",
  "active", "binh thuong", "normal", "ok", "tot",
};
static const char * const status_bad[] = {
  "dong", "da dong", "closed", "close", "off", "hong", "broken", "loi",
  "fault", "ngung hoat dong", "inactive", "su co",
};

static gboolean
folded_in (const char *folded, const char * const *list, guint n)
{
  for (guint i = 0; i < n; i++)
    if (strcmp (folded, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static const DothiField *
find_status_field (const DothiLayerInfo *info, GHashTable *values)
{
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_autofree char *folded = fold_text (f->name);
      GPtrArray *sample = sample_of (info, values, f);

      if (sample != NULL && sample->len > 0
          && folded_in (folded, status_fields, G_N_ELEMENTS (status_fields)))
        return f;
    }
  return NULL;
}

static DothiStyle *
status_style (const DothiLayerInfo *info, GHashTable *values,
              const DothiField *field)
{
  DothiStyle *style = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  GPtrArray *sample = sample_of (info, values, field);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  DothiColor green = color_from_hex ("#2f9e44");
  DothiColor red = color_from_hex ("#e03131");
  DothiColor grey = color_from_hex ("#868e96");

  style->field = g_strdup (field->name);
  style->other = symbol_for (info->kind, &grey);
  style->draw_other = TRUE;
  style->other_label = g_strdup (_("Other values"));
  /* Good states first, then bad ones, then the rest, each in sample order. */
  for (int pass = 0; pass < 3; pass++)
    for (guint j = 0; j < sample->len; j++)
      {
        const char *v = g_ptr_array_index (sample, j);
        g_autofree char *folded = NULL;
        int cls;
        DothiSymbol symbol;

        if (v == NULL || g_hash_table_contains (seen, v))
          continue;
        folded = fold_text (v);
        cls = folded_in (folded, status_good, G_N_ELEMENTS (status_good)) ? 0
              : folded_in (folded, status_bad, G_N_ELEMENTS (status_bad)) ? 1 : 2;
        if (cls != pass)
          continue;
        g_hash_table_add (seen, (gpointer) v);
        symbol = symbol_for (info->kind, cls == 0 ? &green : cls == 1 ? &red : &grey);
        dothi_style_add_rule (style, v, v, 0, 0, &symbol);
      }
  return style;
}

/* ---- single colours -------------------------------------------------- */

/* A muted qualitative palette that reads well on light basemaps. */
static const char * const single_palette[] = {
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#3a8fb7",
};

/* Well-known networks get their usual colour; the rest a palette colour
 * from a hash of the name, so the same layer looks the same every time. */
static const struct {
  const char *word;     /* folded words, matched as whole words */
  const char *color;
} name_hints[] = {
  { "thoat nuoc", "#8c6d46" }, { "nuoc thai", "#8c6d46" },
  { "sewer", "#8c6d46" }, { "drain", "#8c6d46" }, { "drainage", "#8c6d46" },
  { "nuoc", "#1f78b4" }, { "water", "#1f78b4" }, { "pipe", "#1f78b4" },
  { "pipes", "#1f78b4" }, { "ong", "#1f78b4" },
  { "dien", "#e8590c" }, { "power", "#e8590c" }, { "electric", "#e8590c" },
  { "electricity", "#e8590c" },
  { "duong", "#e6952e" }, { "road", "#e6952e" }, { "roads", "#e6952e" },
  { "street", "#e6952e" }, { "streets", "#e6952e" }, { "giao thong", "#e6952e" },
  { "cay xanh", "#37a04b" }, { "tree", "#37a04b" }, { "trees", "#37a04b" },
  { "park", "#37a04b" }, { "parks", "#37a04b" },
};

static DothiColor
single_color (const DothiLayerInfo *info)
{
  g_autofree char *name = fold_text (info->name);
  g_autofree char *title = fold_text (info->title);
  g_autofree char *words = g_strdup_printf (" %s %s ", name, title);
  guint32 hash = 2166136261u;   /* FNV-1a 32 */

  for (guint i = 0; i < G_N_ELEMENTS (name_hints); i++)
    {
      g_autofree char *word = g_strdup_printf (" %s ", name_hints[i].word);

      if (strstr (words, word) != NULL)
        return color_from_hex (name_hints[i].color);
    }
  for (const guchar *p = (const guchar *) (info->name ? info->name : ""); *p; p++)
    {
      hash ^= *p;
      hash *= 16777619u;
    }
  return color_from_hex (single_palette[hash % G_N_ELEMENTS (single_palette)]);
}

/* ---- label fields ------------------------------------------------------ */

static const char * const polygon_labels[] = {
  "so_thua", "sothua", "so_thua_dat", "parcel", "parcel_no", "parcel_id",
  "ten", "name", "ten_*", "name_*", "ma_*", "so_hieu*",
};
static const char * const line_labels[] = {
  "ten_duong", "tenduong", "ten_pho", "street", "street_name", "ten", "name",
  "ten_*", "name_*", "ma_*", "so_hieu*",
};
static const char * const point_labels[] = {
  "ten", "name", "ten_*", "name_*", "so_nha", "ma_*", "so_hieu*",
};

static gboolean
name_matches (const char *name, const char *pattern)
{
  gsize n = strlen (pattern);

  if (n > 0 && pattern[n - 1] == '*')
    return g_ascii_strncasecmp (name, pattern, n - 1) == 0 && name[n - 1] != '\0';
  return g_ascii_strcasecmp (name, pattern) == 0;
}

static char *
find_label_field (const DothiLayerInfo *info)
{
  const char * const *patterns;
  guint n;

  switch (info->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
      patterns = polygon_labels;
      n = G_N_ELEMENTS (polygon_labels);
      break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      patterns = line_labels;
      n = G_N_ELEMENTS (line_labels);
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      patterns = point_labels;
      n = G_N_ELEMENTS (point_labels);
      break;
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      return NULL;
    }
  for (guint p = 0; p < n; p++)
    for (guint i = 0; i < info->fields->len; i++)
      {
        const DothiField *f = g_ptr_array_index (info->fields, i);

        /* Parcel numbers are often integers; names and codes are text. */
        if ((f->type == DOTHI_FIELD_TEXT || f->type == DOTHI_FIELD_INTEGER)
            && name_matches (f->name, patterns[p]))
          return g_strdup (f->name);
      }
  return NULL;
}

DothiStyle *
dothi_style_new_default (const DothiLayerInfo *info,
                         GHashTable           *values)
{
  const DothiField *field;
  DothiStyle *style = NULL;

  g_return_val_if_fail (info != NULL, NULL);

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
    {
      if ((field = find_classified_field (info, values, land_use_classify)) != NULL)
        style = land_use_style (info, values, field);
      else if ((field = find_classified_field (info, values, zoning_index)) != NULL)
        style = zoning_style (info, values, field);
      else if (info->kind == DOTHI_GEOMETRY_KIND_MULTIPOINT
               && (field = find_status_field (info, values)) != NULL)
        style = status_style (info, values, field);
    }

  if (style == NULL)
    {
      DothiColor color = single_color (info);

      /* Polygons get a lighter fill of the colour, outlined in a darker one. */
      if (info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON
          || info->kind == DOTHI_GEOMETRY_KIND_NONE)
        color = color_lighter (&color, 0.45);
      style = dothi_style_new (DOTHI_STYLE_SINGLE);
      style->other = symbol_for (info->kind, &color);
    }

  style->outline_min_px = 3.0;
  style->label_field = find_label_field (info);
  switch (info->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
    case DOTHI_GEOMETRY_KIND_NONE:
      style->label_max_resolution = 0.6;
      break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      style->label_max_resolution = 5.0;
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      style->label_max_resolution = 2.0;
      /* Valves and sensors are read at district scale; over a whole
       * city their markers would bury the map (about 1:75 000). */
      style->max_resolution = 20.0;
      break;
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
    default:
      style->label_max_resolution = 2.0;
      break;
    }
  return style;
}
