/* dothi-layout.c: print layouts as JSON: parsing and checking, the
 * ready-made planning, cadastral and handout templates, and the table
 * dothi_layouts that keeps them in the project. */
#define G_LOG_DOMAIN "dothi-layout"

#include "config.h"
#include "dothi-layout.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

/* Slack for lengths typed by hand or rounded by an editor, in mm. */
#define EPSILON_MM 0.01
/* Templates keep every item this far inside the page edge. */
#define TEMPLATE_MARGIN_MM 10.0

struct _DothiLayout {
  JsonNode *root;   /* always a JSON object */
};

G_DEFINE_BOXED_TYPE (DothiLayout, dothi_layout, dothi_layout_copy, dothi_layout_free)

/* Portrait sizes of ISO 216 A sheets. */
static const struct {
  const char *name;
  double      width, height;
} page_sizes[] = {
  { "A0", 841.0, 1189.0 },
  { "A1", 594.0, 841.0 },
  { "A2", 420.0, 594.0 },
  { "A3", 297.0, 420.0 },
  { "A4", 210.0, 297.0 },
};

static const char *const item_types[] = {
  "map", "overview", "legend", "scale_bar", "north_arrow", "title_block",
  "text", "image", "table", "frame",
};

static const char *const title_templates[] = { "tt04-planning", "tt25-cadastral", "simple" };
static const char *const text_aligns[] = { "left", "center", "right" };

/* Round map scales (1:N) a template chooses from. */
static const double round_scales[] = {
  500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
  1000000, 2000000, 5000000, 10000000,
};

gboolean
dothi_page_size_lookup (const char *name,
                        double     *width_mm,
                        double     *height_mm)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (page_sizes); i++)
    if (g_ascii_strcasecmp (name, page_sizes[i].name) == 0)
      {
        if (width_mm)
          *width_mm = page_sizes[i].width;
        if (height_mm)
          *height_mm = page_sizes[i].height;
        return TRUE;
      }
  return FALSE;
}

/* ---- reading members ---------------------------------------------------- */

typedef enum {
  MEMBER_ABSENT,   /* missing or JSON null */
  MEMBER_OK,
  MEMBER_WRONG,    /* present with another JSON type */
} MemberState;

static MemberState
get_number (JsonObject *obj, const char *name, double *value)
{
  JsonNode *node = json_object_get_member (obj, name);
  GType type;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return MEMBER_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return MEMBER_WRONG;
  type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return MEMBER_WRONG;
  *value = json_node_get_double (node);
  return isfinite (*value) ? MEMBER_OK : MEMBER_WRONG;
}

static MemberState
get_string (JsonObject *obj, const char *name, const char **value)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return MEMBER_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return MEMBER_WRONG;
  *value = json_node_get_string (node);
  return MEMBER_OK;
}

/* The string member @name, or NULL when absent or not a string. */
static const char *
string_member (JsonObject *obj, const char *name)
{
  const char *value = NULL;

  return get_string (obj, name, &value) == MEMBER_OK ? value : NULL;
}

/* A number array of exactly @n elements. */
static gboolean
get_numbers (JsonNode *node, double *values, guint n)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  if (json_array_get_length (array) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      GType type;

      if (!JSON_NODE_HOLDS_VALUE (e))
        return FALSE;
      type = json_node_get_value_type (e);
      if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
        return FALSE;
      values[i] = json_node_get_double (e);
      if (!isfinite (values[i]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_string_array (JsonNode *node)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        return FALSE;
    }
  return TRUE;
}

static gboolean
in_list (const char *value, const char *const *list, guint n)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (value, list[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Every string in the tree in NFC: Vietnamese typed on some systems
 * arrives decomposed, and pango, pdftotext and search expect NFC. */
static void normalize_node (JsonNode *node);

static void
normalize_member_cb (JsonObject *obj, const char *name, JsonNode *node, gpointer data)
{
  normalize_node (node);
}

static void
normalize_element_cb (JsonArray *array, guint index, JsonNode *node, gpointer data)
{
  normalize_node (node);
}

static void
normalize_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      json_object_foreach_member (json_node_get_object (node), normalize_member_cb, NULL);
      break;
    case JSON_NODE_ARRAY:
      json_array_foreach_element (json_node_get_array (node), normalize_element_cb, NULL);
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          const char *s = json_node_get_string (node);
          g_autofree char *nfc = g_utf8_normalize (s, -1, G_NORMALIZE_NFC);

          if (nfc != NULL && strcmp (nfc, s) != 0)
            json_node_set_string (node, nfc);
        }
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

/* ---- the page ----------------------------------------------------------- */

static gboolean
resolve_page (JsonObject *root, double *width, double *height, GError **error)
{
  JsonNode *node = json_object_get_member (root, "page");
  JsonObject *page;
  const char *size = NULL, *orientation = NULL;
  double w = 210.0, h = 297.0;
  gboolean custom;
  MemberState ws, hs;

  *width = w;
  *height = h;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The page “page” of the layout must be a JSON object"));
      return FALSE;
    }
  page = json_node_get_object (node);

  if (get_string (page, "size", &size) == MEMBER_WRONG)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The page size “size” must be a name such as “A3”"));
      return FALSE;
    }
  ws = get_number (page, "width", &w);
  hs = get_number (page, "height", &h);
  custom = size != NULL ? g_ascii_strcasecmp (size, "custom") == 0
                        : ws != MEMBER_ABSENT || hs != MEMBER_ABSENT;

  if (custom)
    {
      if (ws != MEMBER_OK || hs != MEMBER_OK || w <= 0 || h <= 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       _("A custom page needs a width “width” and a height “height” greater than 0 mm"));
          return FALSE;
        }
    }
  else if (size == NULL)
    {
      w = 210.0;
      h = 297.0;
    }
  else if (!dothi_page_size_lookup (size, &w, &h))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a page size name from the layout file */
                   _("Unknown page size “%s”: use A0, A1, A2, A3, A4 or “custom”"), size);
      return FALSE;
    }

  switch (get_string (page, "orientation", &orientation))
    {
    case MEMBER_ABSENT:
      /* A custom page is as given; a named one is portrait. */
      break;
    case MEMBER_OK:
      if (g_ascii_strcasecmp (orientation, "portrait") == 0)
        {
          double s = MIN (w, h), l = MAX (w, h);
          w = s;
          h = l;
          break;
        }
      if (g_ascii_strcasecmp (orientation, "landscape") == 0)
        {
          double s = MIN (w, h), l = MAX (w, h);
          w = l;
          h = s;
          break;
        }
      G_GNUC_FALLTHROUGH;
    case MEMBER_WRONG:
    default:
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: the value found in the layout file */
                   _("Unknown page orientation “%s”: use “portrait” or “landscape”"),
                   orientation ? orientation : "?");
      return FALSE;
    }

  if (MAX (w, h) > DOTHI_PAGE_MAX_LONG_MM + EPSILON_MM
      || MIN (w, h) > DOTHI_PAGE_MAX_SHORT_MM + EPSILON_MM)
    {
      char ws_buf[32], hs_buf[32];

      g_snprintf (ws_buf, sizeof ws_buf, "%g", w);
      g_snprintf (hs_buf, sizeof hs_buf, "%g", h);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: page width and height in mm */
                   _("The page (%s × %s mm) is larger than A0 (841 × 1189 mm), the largest Dothi prints"),
                   ws_buf, hs_buf);
      return FALSE;
    }
  *width = w;
  *height = h;
  return TRUE;
}

/* ---- checking ----------------------------------------------------------- */

/* "Layout item “map”" or "Layout item 3": how errors name an item. */
static char *
item_label (JsonObject *item, guint index)
{
  const char *id = item ? string_member (item, "id") : NULL;

  if (id != NULL && id[0] != '\0')
    /* Translators: the item's "id" in the layout file; starts an error message */
    return g_strdup_printf (_("Layout item “%s”"), id);
  /* Translators: the item's position (1, 2, ...) in the layout file; starts an error message */
  return g_strdup_printf (_("Layout item %u"), index + 1);
}

static gboolean
set_missing (const char *label, const char *property, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” is missing"), label, property);
  return FALSE;
}

static gboolean
set_not_number (const char *label, const char *property, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” must be a number"), label, property);
  return FALSE;
}

static gboolean
set_not_positive (const char *label, const char *property, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” must be a number greater than 0"), label, property);
  return FALSE;
}

static gboolean
set_negative (const char *label, const char *property, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” must not be negative"), label, property);
  return FALSE;
}

static gboolean
set_not_text (const char *label, const char *property, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” must be text"), label, property);
  return FALSE;
}

static gboolean
set_unknown_value (const char *label, const char *property, const char *value, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name, its value */
               _("%s: “%s” has an unknown value “%s”"), label, property, value);
  return FALSE;
}

/* An optional number: absent, or a number at least 0 (@positive: more). */
static gboolean
check_optional_number (JsonObject *item, const char *label, const char *property,
                       gboolean positive, GError **error)
{
  double v = 0;

  switch (get_number (item, property, &v))
    {
    case MEMBER_ABSENT:
      return TRUE;
    case MEMBER_WRONG:
      return positive ? set_not_positive (label, property, error)
                      : set_not_number (label, property, error);
    case MEMBER_OK:
    default:
      if (positive && v <= 0)
        return set_not_positive (label, property, error);
      if (v < 0)
        return set_negative (label, property, error);
      return TRUE;
    }
}

static gboolean
check_optional_string (JsonObject *item, const char *label, const char *property,
                       GError **error)
{
  const char *v;

  if (get_string (item, property, &v) == MEMBER_WRONG)
    return set_not_text (label, property, error);
  return TRUE;
}

static gboolean
check_required_string (JsonObject *item, const char *label, const char *property,
                       GError **error)
{
  const char *v = NULL;

  switch (get_string (item, property, &v))
    {
    case MEMBER_ABSENT:
      return set_missing (label, property, error);
    case MEMBER_WRONG:
      return set_not_text (label, property, error);
    case MEMBER_OK:
    default:
      if (v[0] == '\0')
        return set_missing (label, property, error);
      return TRUE;
    }
}

static gboolean
check_optional_boolean (JsonObject *item, const char *label, const char *property,
                        GError **error)
{
  JsonNode *node = json_object_get_member (item, property);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” must be true or false"), label, property);
  return FALSE;
}

static gboolean
check_layer_list (JsonObject *item, const char *label, const char *property, GError **error)
{
  JsonNode *node = json_object_get_member (item, property);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node) || is_string_array (node))
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: "Layout item “map”" or "Layout item 3", a property name */
               _("%s: “%s” must be a list of names"), label, property);
  return FALSE;
}

static gboolean
check_choice (JsonObject *item, const char *label, const char *property,
              const char *const *choices, guint n, GError **error)
{
  const char *v = NULL;

  switch (get_string (item, property, &v))
    {
    case MEMBER_ABSENT:
      return TRUE;
    case MEMBER_WRONG:
      return set_not_text (label, property, error);
    case MEMBER_OK:
    default:
      if (!in_list (v, choices, n))
        return set_unknown_value (label, property, v, error);
      return TRUE;
    }
}

/* The "id" a map item answers to: its own, else "map" (as the printer
 * names it, dothi-print-private.h). */
static const char *
map_id (JsonObject *item)
{
  const char *id = string_member (item, "id");

  return id != NULL && id[0] != '\0' ? id : "map";
}

static gboolean
check_map_reference (JsonObject *item, const char *label, GHashTable *map_ids,
                     GError **error)
{
  const char *ref = NULL;

  switch (get_string (item, "map", &ref))
    {
    case MEMBER_WRONG:
      return set_not_text (label, "map", error);
    case MEMBER_ABSENT:
      if (g_hash_table_size (map_ids) > 0)
        return TRUE;
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: "Layout item “legend”" or "Layout item 3" */
                   _("%s: “map” is missing and the layout has no map item"), label);
      return FALSE;
    case MEMBER_OK:
    default:
      if (g_hash_table_contains (map_ids, ref))
        return TRUE;
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: "Layout item “legend”" or "Layout item 3", then the name it gives */
                   _("%s: “map” names “%s”, which is no map item of the layout"), label, ref);
      return FALSE;
    }
}

static gboolean
check_map (JsonObject *item, const char *label, GError **error)
{
  JsonNode *node;
  double scale = 0, values[4];
  MemberState scale_state;
  gboolean has_extent = FALSE, has_center = FALSE;

  scale_state = get_number (item, "scale", &scale);
  if (scale_state == MEMBER_WRONG)
    return set_not_number (label, "scale", error);
  if (scale_state == MEMBER_OK && scale < 0)
    return set_negative (label, "scale", error);

  node = json_object_get_member (item, "extent");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!get_numbers (node, values, 4) || values[0] >= values[2] || values[1] >= values[3])
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: "Layout item “map”" or "Layout item 3"; keep [minx, miny, maxx, maxy] */
                       _("%s: “extent” must be [minx, miny, maxx, maxy] with each min below its max"),
                       label);
          return FALSE;
        }
      has_extent = TRUE;
    }
  node = json_object_get_member (item, "center");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!get_numbers (node, values, 2))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: "Layout item “map”" or "Layout item 3"; keep [x, y] */
                       _("%s: “center” must be [x, y] in the project’s coordinates"), label);
          return FALSE;
        }
      has_center = TRUE;
    }
  /* A centre says where but not how much: without a scale there is no
   * extent to print. Neither at all fits the project's extent. */
  if (has_center && !has_extent && !(scale > 0))
    {
      if (scale_state == MEMBER_OK)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: "Layout item “map”" or "Layout item 3" */
                     _("%s: a scale of 0 with a “center” and no “extent” leaves the map without an extent; give a scale 1:N"),
                     label);
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: "Layout item “map”" or "Layout item 3" */
                     _("%s: a “center” without a “scale” leaves the map without an extent; give a scale 1:N"),
                     label);
      return FALSE;
    }

  return check_layer_list (item, label, "layers", error)
         && check_optional_number (item, label, "grid", FALSE, error)
         && check_optional_boolean (item, label, "labels", error)
         && check_optional_string (item, label, "basemap", error);
}

static gboolean
check_item (JsonObject *item, const char *label, const char *type,
            double page_w, double page_h, GHashTable *map_ids, GError **error)
{
  static const char *const position[] = { "x", "y" };
  static const char *const size[] = { "w", "h" };
  double v[4];
  JsonNode *node;

  for (guint i = 0; i < 2; i++)
    switch (get_number (item, position[i], &v[i]))
      {
      case MEMBER_ABSENT:
        return set_missing (label, position[i], error);
      case MEMBER_WRONG:
        return set_not_number (label, position[i], error);
      case MEMBER_OK:
      default:
        break;
      }
  for (guint i = 0; i < 2; i++)
    switch (get_number (item, size[i], &v[2 + i]))
      {
      case MEMBER_ABSENT:
        return set_missing (label, size[i], error);
      case MEMBER_WRONG:
        return set_not_positive (label, size[i], error);
      case MEMBER_OK:
      default:
        if (v[2 + i] <= 0)
          return set_not_positive (label, size[i], error);
        break;
      }
  if (v[0] < -EPSILON_MM || v[1] < -EPSILON_MM
      || v[0] + v[2] > page_w + EPSILON_MM || v[1] + v[3] > page_h + EPSILON_MM)
    {
      char buf[4][32];

      g_snprintf (buf[0], sizeof buf[0], "%g", page_w);
      g_snprintf (buf[1], sizeof buf[1], "%g", page_h);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: "Layout item “map”" or "Layout item 3", page width and height in mm */
                   _("%s: the item (“x”, “y”, “w”, “h”) reaches outside the %s × %s mm page"),
                   label, buf[0], buf[1]);
      return FALSE;
    }

  if (strcmp (type, "map") == 0)
    return check_map (item, label, error);
  if (strcmp (type, "overview") == 0)
    return check_map_reference (item, label, map_ids, error)
           && check_layer_list (item, label, "layers", error);
  if (strcmp (type, "legend") == 0)
    return check_map_reference (item, label, map_ids, error)
           && check_optional_string (item, label, "title", error);
  if (strcmp (type, "scale_bar") == 0)
    return check_map_reference (item, label, map_ids, error);
  if (strcmp (type, "title_block") == 0)
    {
      if (!check_choice (item, label, "template", title_templates,
                         G_N_ELEMENTS (title_templates), error))
        return FALSE;
      node = json_object_get_member (item, "fields");
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: "Layout item “title”" or "Layout item 3" */
                       _("%s: “fields” must be a JSON object of texts"), label);
          return FALSE;
        }
      return TRUE;
    }
  if (strcmp (type, "text") == 0)
    return check_required_string (item, label, "text", error)
           && check_optional_number (item, label, "size", TRUE, error)
           && check_optional_boolean (item, label, "bold", error)
           && check_choice (item, label, "align", text_aligns, G_N_ELEMENTS (text_aligns), error);
  if (strcmp (type, "image") == 0)
    return check_required_string (item, label, "path", error);
  if (strcmp (type, "table") == 0)
    return check_required_string (item, label, "layer", error)
           && check_layer_list (item, label, "fields", error)
           && check_optional_string (item, label, "where", error)
           && check_optional_number (item, label, "max_rows", TRUE, error);
  if (strcmp (type, "frame") == 0)
    return check_optional_number (item, label, "line", FALSE, error);
  /* north_arrow: nothing beyond its place. */
  return TRUE;
}

static gboolean
check_atlas (JsonObject *root, GError **error)
{
  JsonNode *node = json_object_get_member (root, "atlas");
  JsonObject *atlas;
  const char *layer = NULL, *title_field = NULL;
  double margin = 0;
  MemberState state;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The atlas “atlas” of the layout must be a JSON object"));
      return FALSE;
    }
  atlas = json_node_get_object (node);
  if (get_string (atlas, "layer", &layer) != MEMBER_OK || layer[0] == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The atlas needs the name of its coverage layer in “layer”"));
      return FALSE;
    }
  if (get_string (atlas, "title_field", &title_field) == MEMBER_WRONG)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The atlas title field “title_field” must be a field name"));
      return FALSE;
    }
  state = get_number (atlas, "margin", &margin);
  if (state == MEMBER_WRONG || (state == MEMBER_OK && margin < 0))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The atlas margin “margin” must be a number not below 0"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_layout (JsonObject *root, GError **error)
{
  g_autoptr(GHashTable) map_ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  JsonNode *node;
  JsonArray *items;
  const char *name;
  double page_w, page_h;
  guint n = 0;

  if (get_string (root, "name", &name) == MEMBER_WRONG)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The layout’s name “name” must be text"));
      return FALSE;
    }
  if (!resolve_page (root, &page_w, &page_h, error))
    return FALSE;

  /* Required, even empty: the printer walks it without asking. */
  node = json_object_get_member (root, "items");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The layout needs its items as a JSON list in “items”"));
      return FALSE;
    }
  items = json_node_get_array (node);
  n = json_array_get_length (items);

  /* First the ids, so an item may name a map placed after it. */
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (items, i);
      g_autofree char *label = NULL;
      JsonObject *item;
      const char *id = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          label = item_label (NULL, i);
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: "Layout item 3" */
                       _("%s is not a JSON object"), label);
          return FALSE;
        }
      item = json_node_get_object (e);
      label = item_label (item, i);
      if (get_string (item, "id", &id) == MEMBER_WRONG)
        return set_not_text (label, "id", error);
      if (id != NULL && id[0] == '\0')
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: "Layout item 3" */
                       _("%s: “id” must not be empty"), label);
          return FALSE;
        }
      if (id != NULL && !g_hash_table_add (ids, (gpointer) id))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: an item id in the layout file */
                       _("Two layout items have the id “%s”"), id);
          return FALSE;
        }
      if (g_strcmp0 (string_member (item, "type"), "map") == 0)
        g_hash_table_add (map_ids, (gpointer) map_id (item));
    }

  for (guint i = 0; i < n; i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      g_autofree char *label = item_label (item, i);
      const char *type = NULL;

      switch (get_string (item, "type", &type))
        {
        case MEMBER_ABSENT:
          return set_missing (label, "type", error);
        case MEMBER_WRONG:
          return set_not_text (label, "type", error);
        case MEMBER_OK:
        default:
          break;
        }
      if (!in_list (type, item_types, G_N_ELEMENTS (item_types)))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: "Layout item “map”" or "Layout item 3", then the type it gives */
                       _("%s: unknown item type “%s” in “type”"), label, type);
          return FALSE;
        }
      if (!check_item (item, label, type, page_w, page_h, map_ids, error))
        return FALSE;
    }

  return check_atlas (root, error);
}

/* ---- the layout --------------------------------------------------------- */

static DothiLayout *
layout_new_take (JsonNode *root)
{
  DothiLayout *layout = g_new0 (DothiLayout, 1);

  layout->root = root;
  return layout;
}

DothiLayout *
dothi_layout_new_from_json (const char  *json,
                            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  JsonNode *root;

  g_return_val_if_fail (json != NULL, NULL);

  if (!json_parser_load_from_data (parser, json, -1, &local_error))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: the JSON parser's own message */
                   _("The layout is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  root = json_parser_steal_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_clear_pointer (&root, json_node_unref);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The layout must be a JSON object with “page” and “items”"));
      return NULL;
    }
  layout = layout_new_take (root);
  normalize_node (layout->root);
  if (!dothi_layout_validate (layout, error))
    return NULL;
  return g_steal_pointer (&layout);
}

/* json_node_copy() shares the objects and arrays inside; a copy to edit
 * on its own needs new ones all the way down. */
static JsonNode *
deep_copy_node (JsonNode *node)
{
  JsonNode *copy;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *source = json_node_get_object (node);
        g_autoptr(JsonObject) object = json_object_new ();
        g_autoptr(GList) names = json_object_get_members (source);

        /* In the order written, so the copy writes the same text. */
        for (GList *l = names; l != NULL; l = l->next)
          json_object_set_member (object, l->data,
                                  deep_copy_node (json_object_get_member (source, l->data)));
        copy = json_node_alloc ();
        return json_node_init_object (copy, object);
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *source = json_node_get_array (node);
        g_autoptr(JsonArray) array = json_array_sized_new (json_array_get_length (source));

        for (guint i = 0; i < json_array_get_length (source); i++)
          json_array_add_element (array, deep_copy_node (json_array_get_element (source, i)));
        copy = json_node_alloc ();
        return json_node_init_array (copy, array);
      }
    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
    default:
      return json_node_copy (node);
    }
}

DothiLayout *
dothi_layout_copy (DothiLayout *layout)
{
  g_return_val_if_fail (layout != NULL, NULL);

  return layout_new_take (deep_copy_node (layout->root));
}

void
dothi_layout_free (DothiLayout *layout)
{
  if (layout == NULL)
    return;
  json_node_unref (layout->root);
  g_free (layout);
}

char *
dothi_layout_to_json (DothiLayout *layout)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  g_return_val_if_fail (layout != NULL, NULL);

  json_generator_set_root (generator, layout->root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}

JsonObject *
dothi_layout_get_object (DothiLayout *layout)
{
  g_return_val_if_fail (layout != NULL, NULL);

  return json_node_get_object (layout->root);
}

gboolean
dothi_layout_validate (DothiLayout  *layout,
                       GError      **error)
{
  g_return_val_if_fail (layout != NULL, FALSE);

  return check_layout (json_node_get_object (layout->root), error);
}

const char *
dothi_layout_get_name (DothiLayout *layout)
{
  g_return_val_if_fail (layout != NULL, NULL);

  return string_member (json_node_get_object (layout->root), "name");
}

void
dothi_layout_get_page_size (DothiLayout *layout,
                            double      *width_mm,
                            double      *height_mm)
{
  double w, h;

  g_return_if_fail (layout != NULL);

  /* A layout changed in place and not checked again may be wrong: A4. */
  if (!resolve_page (json_node_get_object (layout->root), &w, &h, NULL))
    {
      w = 210.0;
      h = 297.0;
    }
  if (width_mm)
    *width_mm = w;
  if (height_mm)
    *height_mm = h;
}

JsonObject *
dothi_layout_find_item (DothiLayout *layout,
                        const char  *id)
{
  JsonObject *root;
  JsonArray *items;
  JsonObject *unnamed_map = NULL;

  g_return_val_if_fail (layout != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);

  root = json_node_get_object (layout->root);
  if (!json_object_has_member (root, "items")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "items")))
    return NULL;
  items = json_object_get_array_member (root, "items");
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *e = json_array_get_element (items, i);
      JsonObject *item;
      const char *item_id;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      item = json_node_get_object (e);
      item_id = string_member (item, "id");
      if (g_strcmp0 (item_id, id) == 0)
        return item;
      if (unnamed_map == NULL && (item_id == NULL || item_id[0] == '\0')
          && g_strcmp0 (string_member (item, "type"), "map") == 0)
        unnamed_map = item;
    }
  /* A map without an id is "map" to the items that refer to it. */
  return strcmp (id, "map") == 0 ? unnamed_map : NULL;
}

/* ---- templates ---------------------------------------------------------- */

/* Positions on 0.5 mm, which a double and JSON hold exactly. */
static double
round_mm (double v)
{
  return floor (v * 2.0 + 0.5) / 2.0;
}

static void
set_length (JsonObject *obj, const char *name, double v)
{
  if (v == floor (v) && fabs (v) < 1e15)
    json_object_set_int_member (obj, name, (gint64) v);
  else
    json_object_set_double_member (obj, name, v);
}

/* Adds an item covering the page from (@x0, @y0) to (@x1, @y1), rounded
 * edge by edge so neighbours keep their gap. */
static JsonObject *
add_item (JsonArray *items, const char *type, const char *id,
          double x0, double y0, double x1, double y1)
{
  JsonObject *item = json_object_new ();
  double rx0 = round_mm (x0), ry0 = round_mm (y0);

  json_object_set_string_member (item, "type", type);
  if (id != NULL)
    json_object_set_string_member (item, "id", id);
  set_length (item, "x", rx0);
  set_length (item, "y", ry0);
  set_length (item, "w", round_mm (x1) - rx0);
  set_length (item, "h", round_mm (y1) - ry0);
  json_array_add_object_element (items, item);
  return item;
}

static JsonObject *
fields_new (const char *const *pairs)
{
  JsonObject *fields = json_object_new ();

  for (guint i = 0; pairs[i] != NULL; i += 2)
    json_object_set_string_member (fields, pairs[i], pairs[i + 1]);
  return fields;
}

typedef struct {
  gboolean has_extent;
  double   extent[4];
  char    *overview_layer;   /* the visible polygon layer with fewest features */
  char    *crs_text;         /* "Hệ tọa độ VN-2000, kinh tuyến trục 108°30′, múi chiếu 3°" */
} ProjectView;

static void
project_view_clear (ProjectView *view)
{
  g_clear_pointer (&view->overview_layer, g_free);
  g_clear_pointer (&view->crs_text, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ProjectView, project_view_clear)

/* The reference system as a planning or cadastral sheet names it. */
static char *
crs_text (int srid)
{
  const DothiVn2000Zone *zones;
  g_autofree char *name = NULL;
  guint n = 0;

  zones = dothi_crs_vn2000_zones (&n);
  for (guint i = 0; i < n; i++)
    if (zones[i].srid == srid)
      {
        int minutes = (int) lround (zones[i].meridian * 60.0);

        return g_strdup_printf ("Hệ tọa độ VN-2000, kinh tuyến trục %d°%02d′, múi chiếu 3°",
                                minutes / 60, minutes % 60);
      }
  name = dothi_crs_dup_name (srid);
  if (name != NULL)
    return g_strdup_printf ("Hệ tọa độ %s", name);
  return g_strdup_printf ("Hệ tọa độ EPSG:%d", srid);
}

static gboolean
project_view_init (ProjectView *view, DothiProject *project, GError **error)
{
  g_autoptr(GPtrArray) layers = NULL;
  int srid = dothi_project_get_srid (project);
  gint64 fewest = G_MAXINT64;

  memset (view, 0, sizeof *view);
  layers = dothi_project_list_layers (project, error);
  if (layers == NULL)
    return FALSE;
  view->crs_text = crs_text (srid);

  /* Visible layers first; a project with everything hidden still gets a
   * frame over all its layers. */
  for (int pass = 0; pass < 2 && !view->has_extent; pass++)
    for (guint i = 0; i < layers->len; i++)
      {
        const DothiLayerInfo *info = g_ptr_array_index (layers, i);

        if (info->kind == DOTHI_GEOMETRY_KIND_NONE || info->feature_count <= 0
            || (pass == 0 && !info->visible)
            || (info->srid != srid && info->srid != 0)
            || !(info->extent[0] <= info->extent[2] && info->extent[1] <= info->extent[3]))
          continue;
        if (!view->has_extent)
          memcpy (view->extent, info->extent, sizeof view->extent);
        else
          {
            view->extent[0] = MIN (view->extent[0], info->extent[0]);
            view->extent[1] = MIN (view->extent[1], info->extent[1]);
            view->extent[2] = MAX (view->extent[2], info->extent[2]);
            view->extent[3] = MAX (view->extent[3], info->extent[3]);
          }
        view->has_extent = TRUE;
        if (pass == 0 && info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON
            && info->feature_count < fewest)
          {
            fewest = info->feature_count;
            g_free (view->overview_layer);
            view->overview_layer = g_strdup (info->name);
          }
      }
  return TRUE;
}

/* The first round 1:N at which @view's extent (with 5% room) fits a
 * frame of @w × @h mm. */
static double
fit_scale (const ProjectView *view, double w, double h)
{
  double ew = MAX (view->extent[2] - view->extent[0], 1.0) * 1.05;
  double eh = MAX (view->extent[3] - view->extent[1], 1.0) * 1.05;

  for (guint i = 0; i < G_N_ELEMENTS (round_scales); i++)
    if (ew * 1000.0 / round_scales[i] <= w && eh * 1000.0 / round_scales[i] <= h)
      return round_scales[i];
  return round_scales[G_N_ELEMENTS (round_scales) - 1];
}

/* Centre and scale of the map item: the frame shows the whole extent. */
static void
place_extent (JsonObject *map, const ProjectView *view, double scale, gboolean grid)
{
  JsonArray *center;

  if (!view->has_extent)
    return;   /* no layer yet: the printer fits what there is then */
  /* On 0.5 m, which JSON writes without a tail of digits. */
  center = json_array_new ();
  json_array_add_double_element (center, round_mm ((view->extent[0] + view->extent[2]) / 2.0));
  json_array_add_double_element (center, round_mm ((view->extent[1] + view->extent[3]) / 2.0));
  json_object_set_array_member (map, "center", center);
  json_object_set_int_member (map, "scale", (gint64) scale);
  /* A grid line every 10 cm on paper, as on VN-2000 sheets: 100 m at
   * 1:1000, 1 km at 1:10 000. */
  if (grid)
    json_object_set_int_member (map, "grid", (gint64) (scale / 10.0));
}

static void
build_planning (JsonArray *items, const ProjectView *view, const char *title,
                double W, double H)
{
  double f = MIN (W / 841.0, H / 594.0);
  double m = TEMPLATE_MARGIN_MM, g = MAX (2.0, 5.0 * f);
  double cw = W - 2 * m, ch = H - 2 * m;
  double col_w = cw * 0.24, map_w = cw - col_w - g;
  double cx = m + map_w + g, right = W - m;
  double overview_h = col_w * 0.7, title_h = ch * 0.34, row_h = MAX (col_w * 0.16, 8.0);
  double y, na_w, sb_h;
  JsonObject *item;
  JsonArray *layers;
  const char *const fields[] = {
    "agency", "ỦY BAN NHÂN DÂN",
    "title", title,
    "drawing", "Bản đồ quy hoạch sử dụng đất",
    "scale", "{scale}",
    "crs", view->crs_text,
    "decision", "Số: …/QĐ-UBND",
    "date", "{date}",
    "consultant", "",
    "signer", "",
    NULL,
  };

  item = add_item (items, "map", "map", m, m, m + map_w, H - m);
  place_extent (item, view, fit_scale (view, round_mm (m + map_w) - m, ch), TRUE);
  json_object_set_boolean_member (item, "labels", TRUE);

  y = m;
  item = add_item (items, "overview", "overview", cx, y, right, y + overview_h);
  json_object_set_string_member (item, "map", "map");
  if (view->overview_layer != NULL)
    {
      layers = json_array_new ();
      json_array_add_string_element (layers, view->overview_layer);
      json_object_set_array_member (item, "layers", layers);
    }
  y += overview_h + g;

  item = add_item (items, "legend", "legend", cx, y, right, H - m - title_h - row_h - 2 * g);
  json_object_set_string_member (item, "map", "map");
  json_object_set_string_member (item, "title", "CHÚ GIẢI");

  y = H - m - title_h - g - row_h;
  na_w = row_h * 0.6;
  sb_h = row_h * 0.7;
  item = add_item (items, "scale_bar", "scale_bar", cx, y + (row_h - sb_h) / 2,
                   right - na_w - g, y + (row_h + sb_h) / 2);
  json_object_set_string_member (item, "map", "map");
  add_item (items, "north_arrow", "north_arrow", right - na_w, y, right, y + row_h);

  item = add_item (items, "title_block", "title_block", cx, H - m - title_h, right, H - m);
  json_object_set_string_member (item, "template", "tt04-planning");
  json_object_set_object_member (item, "fields", fields_new (fields));
}

static void
build_cadastral (JsonArray *items, const ProjectView *view, const char *title,
                 double W, double H)
{
  double m = TEMPLATE_MARGIN_MM;
  double f = MIN (W / 594.0, H / 841.0), g = MAX (2.0, 5.0 * f);
  double cw = W - 2 * m, ch = H - 2 * m;
  double title_h = ch * 0.10, bottom_h = MAX (ch * 0.05, 10.0);
  double map_top = m + title_h + g, map_bottom = H - m - bottom_h - g;
  double y = H - m - bottom_h, na_w = bottom_h * 0.6, sb_w = cw * 0.4, sb_h = bottom_h * 0.5;
  JsonObject *item;
  const char *const fields[] = {
    "title", title,
    "province", "",
    "district", "",
    "commune", "",
    "sheet", "…",
    "sheet_code", "",
    "scale", "{scale}",
    "crs", view->crs_text,
    "date", "{date}",
    "surveyor", "",
    "signer", "",
    NULL,
  };

  item = add_item (items, "title_block", "title_block", m, m, W - m, m + title_h);
  json_object_set_string_member (item, "template", "tt25-cadastral");
  json_object_set_object_member (item, "fields", fields_new (fields));

  item = add_item (items, "map", "map", m, map_top, W - m, map_bottom);
  place_extent (item, view, fit_scale (view, cw, round_mm (map_bottom) - round_mm (map_top)), TRUE);
  json_object_set_boolean_member (item, "labels", FALSE);

  item = add_item (items, "scale_bar", "scale_bar", (W - sb_w) / 2, y + (bottom_h - sb_h) / 2,
                   (W + sb_w) / 2, y + (bottom_h + sb_h) / 2);
  json_object_set_string_member (item, "map", "map");
  add_item (items, "north_arrow", "north_arrow", W - m - na_w, y, W - m, H - m);
}

static void
build_handout (JsonArray *items, const ProjectView *view, const char *title,
               double W, double H)
{
  double m = TEMPLATE_MARGIN_MM;
  double f = MIN (W / 420.0, H / 297.0), g = MAX (2.0, 5.0 * f);
  double cw = W - 2 * m, ch = H - 2 * m;
  double col_w = cw * 0.26, map_w = cw - col_w - g, cx = m + map_w + g, right = W - m;
  double title_h = ch * 0.22, row_h = MAX (col_w * 0.16, 8.0);
  double y = H - m - row_h, na_w = row_h * 0.6, sb_h = row_h * 0.7;
  JsonObject *item;
  const char *const fields[] = {
    "agency", "ỦY BAN NHÂN DÂN",
    "title", title,
    "scale", "{scale}",
    "date", "{date}",
    NULL,
  };

  item = add_item (items, "map", "map", m, m, m + map_w, H - m);
  place_extent (item, view, fit_scale (view, round_mm (m + map_w) - m, ch), FALSE);
  json_object_set_int_member (item, "grid", 0);
  json_object_set_boolean_member (item, "labels", FALSE);

  item = add_item (items, "title_block", "title_block", cx, m, right, m + title_h);
  json_object_set_string_member (item, "template", "simple");
  json_object_set_object_member (item, "fields", fields_new (fields));

  item = add_item (items, "legend", "legend", cx, m + title_h + g, right, y - g);
  json_object_set_string_member (item, "map", "map");
  json_object_set_string_member (item, "title", "CHÚ GIẢI");

  item = add_item (items, "scale_bar", "scale_bar", cx, y + (row_h - sb_h) / 2,
                   right - na_w - g, y + (row_h + sb_h) / 2);
  json_object_set_string_member (item, "map", "map");
  add_item (items, "north_arrow", "north_arrow", right - na_w, y, right, H - m);
}

static const struct {
  const char *name;
  const char *page_size;
  gboolean    landscape;
  const char *layout_name;   /* the layout's name without a title */
  const char *title;         /* the printed title */
  void      (*build) (JsonArray *, const ProjectView *, const char *, double, double);
} templates[] = {
  { "planning", "A1", TRUE, "Bản đồ quy hoạch sử dụng đất",
    "BẢN ĐỒ QUY HOẠCH SỬ DỤNG ĐẤT", build_planning },
  { "cadastral", "A1", FALSE, "Bản đồ địa chính", "BẢN ĐỒ ĐỊA CHÍNH", build_cadastral },
  { "handout", "A3", TRUE, "Bản đồ phát tay", "BẢN ĐỒ QUY HOẠCH SỬ DỤNG ĐẤT", build_handout },
};

DothiLayout *
dothi_layout_new_template (DothiProject  *project,
                           const char    *template_name,
                           const char    *page_size,
                           const char    *title,
                           GError       **error)
{
  g_auto(ProjectView) view = { 0 };
  g_autoptr(DothiLayout) layout = NULL;
  g_autofree char *clean_title = NULL;
  JsonObject *root, *page;
  JsonArray *items;
  const char *size_name = NULL;
  double w, h, t;
  guint k;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (template_name != NULL, NULL);

  for (k = 0; k < G_N_ELEMENTS (templates); k++)
    if (g_ascii_strcasecmp (template_name, templates[k].name) == 0)
      break;
  if (k == G_N_ELEMENTS (templates))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a template name given by the user; keep the quoted names */
                   _("Unknown layout template “%s”: use “planning”, “cadastral” or “handout”"),
                   template_name);
      return NULL;
    }
  if (page_size == NULL)
    page_size = templates[k].page_size;
  if (!dothi_page_size_lookup (page_size, &w, &h))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("Unknown page size “%s”: use A0, A1, A2, A3, A4 or “custom”"), page_size);
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (page_sizes); i++)
    if (g_ascii_strcasecmp (page_size, page_sizes[i].name) == 0)
      size_name = page_sizes[i].name;
  if (templates[k].landscape)
    {
      t = w;
      w = h;
      h = t;
    }
  if (title != NULL)
    {
      clean_title = g_utf8_normalize (title, -1, G_NORMALIZE_NFC);
      if (clean_title != NULL)
        g_strstrip (clean_title);
      if (clean_title != NULL && clean_title[0] == '\0')
        g_clear_pointer (&clean_title, g_free);
    }

  if (!project_view_init (&view, project, error))
    return NULL;

  root = json_object_new ();
  layout = layout_new_take (json_node_init_object (json_node_alloc (), root));
  json_object_set_string_member (root, "name", clean_title ? clean_title : templates[k].layout_name);
  page = json_object_new ();
  json_object_set_string_member (page, "size", size_name);
  json_object_set_string_member (page, "orientation",
                                 templates[k].landscape ? "landscape" : "portrait");
  json_object_set_object_member (root, "page", page);
  items = json_array_new ();
  templates[k].build (items, &view, clean_title ? clean_title : templates[k].title, w, h);
  json_object_set_array_member (root, "items", items);
  json_object_unref (root);   /* the node holds it */

  if (!dothi_layout_validate (layout, error))
    return NULL;
  return g_steal_pointer (&layout);
}

/* ---- storage ------------------------------------------------------------ */

static gboolean
set_db_error (sqlite3 *db, const char *path, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), path, sqlite3_errmsg (db));
  return FALSE;
}

static sqlite3 *
project_db (DothiProject *project, GError **error)
{
  DothiStore *store = dothi_project_get_store (project);

  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: project file */
                   _("Layouts of “%s” need a SpatiaLite project"),
                   dothi_project_get_path (project));
      return NULL;
    }
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
}

static gboolean
has_layouts_table (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  return sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                             "AND name = 'dothi_layouts'", -1, &stmt, NULL) == SQLITE_OK
         && sqlite3_step (stmt) == SQLITE_ROW;
}


static gboolean
exec_sql (sqlite3 *db, const char *sql, const char *path, GError **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (db, path, error);
  return TRUE;
}

/* BEGIN IMMEDIATE on the project's connection. A layout is no feature,
 * so storing one is no action in the history (as saved queries). */
static sqlite3 *
begin_write (DothiProject *project, const char *name, gboolean deleting, GError **error)
{
  const char *path = dothi_project_get_path (project);
  sqlite3 *db;

  if (dothi_project_get_read_only (project))
    {
      if (deleting)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                     /* Translators: layout name, project file */
                     _("Layout “%s” cannot be deleted: project “%s” is open read-only"),
                     name, path);
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                     /* Translators: layout name, project file */
                     _("Layout “%s” cannot be stored: project “%s” is open read-only"),
                     name, path);
      return NULL;
    }
  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      if ((sqlite3_extended_errcode (db) & 0xff) == SQLITE_BUSY)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                     /* Translators: project file */
                     _("Another program is writing to “%s”; try again when it has finished"),
                     path);
      else
        set_db_error (db, path, error);
      return NULL;
    }
  return db;
}

static gboolean
end_write (sqlite3 *db, gboolean ok, const char *path, GError **error)
{
  if (ok && exec_sql (db, "COMMIT", path, error))
    return TRUE;
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* Creates dothi_layouts inside the open transaction. */
static gboolean
ensure_layouts_table (sqlite3 *db, const char *path, GError **error)
{
  return dothi_spatialite_ensure_own_table (db, "dothi_layouts",
                                            "CREATE TABLE IF NOT EXISTS dothi_layouts (\n"
                                            "  name TEXT PRIMARY KEY,\n"
                                            "  json TEXT NOT NULL,\n"
                                            "  modified TEXT)", path, error);
}

/* @name trimmed and in NFC, or NULL when nothing is left. */
static char *
clean_name (const char *name)
{
  char *clean;

  if (name == NULL)
    return NULL;
  clean = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);
  if (clean == NULL)
    return NULL;
  g_strstrip (clean);
  if (clean[0] == '\0')
    g_clear_pointer (&clean, g_free);
  return clean;
}

static void
set_no_layout (const char *name, const char *path, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: layout name, project file */
               _("No layout named “%s” is stored in “%s”"), name, path);
}

gboolean
dothi_layout_store (DothiProject  *project,
                    DothiLayout   *layout,
                    GError       **error)
{
  g_autoptr(DothiLayout) copy = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *name = NULL;
  g_autofree char *json = NULL;
  const char *path;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (layout != NULL, FALSE);

  path = dothi_project_get_path (project);
  name = clean_name (dothi_layout_get_name (layout));
  if (name == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: project file */
                   _("A layout stored in “%s” needs a name"), path);
      return FALSE;
    }
  if (!dothi_layout_validate (layout, error))
    {
      /* Translators: layout name; the reason follows */
      g_prefix_error (error, _("Layout “%s”: "), name);
      return FALSE;
    }
  /* The stored text carries the name the row has. */
  copy = dothi_layout_copy (layout);
  json_object_set_string_member (dothi_layout_get_object (copy), "name", name);
  json = dothi_layout_to_json (copy);

  db = begin_write (project, name, FALSE, error);
  if (db == NULL)
    return FALSE;
  ok = ensure_layouts_table (db, path, error);
  if (ok)
    {
      /* An upsert keeps the row, so a replaced layout keeps its place. */
      ok = sqlite3_prepare_v2 (db,
                               "INSERT INTO dothi_layouts (name, json, modified) "
                               "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
                               "ON CONFLICT (name) DO UPDATE SET json = excluded.json, "
                               "modified = excluded.modified", -1, &stmt, NULL) == SQLITE_OK
           && sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_bind_text (stmt, 2, json, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        set_db_error (db, path, error);
      g_clear_pointer (&stmt, sqlite3_finalize);
    }
  return end_write (db, ok, path, error);
}

GStrv
dothi_layout_list (DothiProject  *project,
                   GError       **error)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr(sqlite3_stmt) stmt = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (!has_layouts_table (db))
    return g_strv_builder_end (names);
  if (sqlite3_prepare_v2 (db, "SELECT name FROM dothi_layouts ORDER BY rowid",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, dothi_project_get_path (project), error);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_strv_builder_add (names, (const char *) sqlite3_column_text (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, dothi_project_get_path (project), error);
      return NULL;
    }
  return g_strv_builder_end (names);
}

DothiLayout *
dothi_layout_load (DothiProject  *project,
                   const char    *name,
                   GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;
  DothiLayout *layout;
  const char *path;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  path = dothi_project_get_path (project);
  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  clean = clean_name (name);
  if (clean == NULL || !has_layouts_table (db))
    {
      set_no_layout (name, path, error);
      return NULL;
    }
  if (sqlite3_prepare_v2 (db, "SELECT name, json FROM dothi_layouts WHERE name = ?1",
                          -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_text (stmt, 1, clean, -1, SQLITE_TRANSIENT) != SQLITE_OK)
    {
      set_db_error (db, path, error);
      return NULL;
    }
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      set_no_layout (name, path, error);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      set_db_error (db, path, error);
      return NULL;
    }
  layout = dothi_layout_new_from_json ((const char *) sqlite3_column_text (stmt, 1), error);
  if (layout == NULL)
    {
      g_prefix_error (error, _("Layout “%s”: "), clean);
      return NULL;
    }
  /* The row's name wins over one edited into the text by hand. */
  json_object_set_string_member (dothi_layout_get_object (layout), "name",
                                 (const char *) sqlite3_column_text (stmt, 0));
  return layout;
}

gboolean
dothi_layout_delete (DothiProject  *project,
                     const char    *name,
                     GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;
  const char *path;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  path = dothi_project_get_path (project);
  db = project_db (project, error);
  if (db == NULL)
    return FALSE;
  clean = clean_name (name);
  if (clean == NULL || !has_layouts_table (db))
    {
      set_no_layout (name, path, error);
      return FALSE;
    }
  db = begin_write (project, clean, TRUE, error);
  if (db == NULL)
    return FALSE;
  ok = sqlite3_prepare_v2 (db, "DELETE FROM dothi_layouts WHERE name = ?1", -1, &stmt, NULL) == SQLITE_OK
       && sqlite3_bind_text (stmt, 1, clean, -1, SQLITE_TRANSIENT) == SQLITE_OK
       && sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    set_db_error (db, path, error);
  else if (sqlite3_changes (db) == 0)
    {
      set_no_layout (name, path, error);
      ok = FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  return end_write (db, ok, path, error);
}
