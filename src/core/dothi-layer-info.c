/* dothi-layer-info.c: the registry description of a layer and the field
 * and geometry vocabulary shared by import, export and the UI. */
#define G_LOG_DOMAIN "dothi-layer-info"

#include "config.h"
#include "dothi-layer-info.h"

#include <glib/gi18n-lib.h>
#include <string.h>

G_DEFINE_BOXED_TYPE (DothiLayerInfo, dothi_layer_info,
                     dothi_layer_info_copy, dothi_layer_info_free)

DothiField *
dothi_field_new (const char *name, DothiFieldType type)
{
  DothiField *field = g_new0 (DothiField, 1);

  field->name = g_strdup (name);
  field->type = type;
  return field;
}

void
dothi_field_free (DothiField *field)
{
  if (field == NULL)
    return;
  g_free (field->name);
  g_free (field);
}

DothiLayerInfo *
dothi_layer_info_new (void)
{
  DothiLayerInfo *info = g_new0 (DothiLayerInfo, 1);

  info->fields = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_field_free);
  info->visible = TRUE;
  info->opacity = 1.0;
  return info;
}

DothiLayerInfo *
dothi_layer_info_copy (const DothiLayerInfo *info)
{
  DothiLayerInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = dothi_layer_info_new ();
  copy->name = g_strdup (info->name);
  copy->title = g_strdup (info->title);
  copy->kind = info->kind;
  copy->has_z = info->has_z;
  copy->has_m = info->has_m;
  copy->srid = info->srid;
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_ptr_array_add (copy->fields, dothi_field_new (f->name, f->type));
    }
  copy->source = g_strdup (info->source);
  copy->driver = g_strdup (info->driver);
  copy->encoding = g_strdup (info->encoding);
  copy->operation = g_strdup (info->operation);
  copy->imported_at = g_strdup (info->imported_at);
  copy->feature_count = info->feature_count;
  memcpy (copy->extent, info->extent, sizeof copy->extent);
  copy->z_order = info->z_order;
  copy->visible = info->visible;
  copy->opacity = info->opacity;
  copy->style = g_strdup (info->style);
  return copy;
}

void
dothi_layer_info_free (DothiLayerInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->title);
  g_ptr_array_unref (info->fields);
  g_free (info->source);
  g_free (info->driver);
  g_free (info->encoding);
  g_free (info->operation);
  g_free (info->imported_at);
  g_free (info->style);
  g_free (info);
}

void
dothi_layer_info_add_field (DothiLayerInfo *info, const char *name, DothiFieldType type)
{
  g_return_if_fail (info != NULL);
  g_ptr_array_add (info->fields, dothi_field_new (name, type));
}

int
dothi_layer_info_find_field (const DothiLayerInfo *info, const char *name)
{
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      if (g_ascii_strcasecmp (f->name, name) == 0)
        return (int) i;
    }
  return -1;
}

static const char *kind_names[] = {
  [DOTHI_GEOMETRY_KIND_NONE] = "NONE",
  [DOTHI_GEOMETRY_KIND_MULTIPOINT] = "MULTIPOINT",
  [DOTHI_GEOMETRY_KIND_MULTILINESTRING] = "MULTILINESTRING",
  [DOTHI_GEOMETRY_KIND_MULTIPOLYGON] = "MULTIPOLYGON",
  [DOTHI_GEOMETRY_KIND_GEOMETRY] = "GEOMETRY",
};

const char *
dothi_geometry_kind_to_string (DothiGeometryKind kind)
{
  g_return_val_if_fail (kind <= DOTHI_GEOMETRY_KIND_GEOMETRY, "NONE");
  return kind_names[kind];
}

DothiGeometryKind
dothi_geometry_kind_from_string (const char *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (s != NULL && g_ascii_strcasecmp (s, kind_names[i]) == 0)
      return (DothiGeometryKind) i;
  return DOTHI_GEOMETRY_KIND_NONE;
}

const char *
dothi_geometry_kind_to_label (DothiGeometryKind kind)
{
  switch (kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      return _("points");
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      return _("lines");
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
      return _("polygons");
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      return _("mixed geometries");
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      return _("table without geometry");
    }
}

static const char *field_type_names[] = {
  [DOTHI_FIELD_TEXT] = "text",
  [DOTHI_FIELD_INTEGER] = "integer",
  [DOTHI_FIELD_REAL] = "real",
  [DOTHI_FIELD_DATE] = "date",
  [DOTHI_FIELD_DATETIME] = "datetime",
  [DOTHI_FIELD_BOOLEAN] = "boolean",
  [DOTHI_FIELD_BLOB] = "blob",
};

const char *
dothi_field_type_to_string (DothiFieldType type)
{
  g_return_val_if_fail (type <= DOTHI_FIELD_BLOB, "text");
  return field_type_names[type];
}

DothiFieldType
dothi_field_type_from_string (const char *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (field_type_names); i++)
    if (s != NULL && g_ascii_strcasecmp (s, field_type_names[i]) == 0)
      return (DothiFieldType) i;
  return DOTHI_FIELD_TEXT;
}

/* Declared SQL types that both OGR's SQLite driver and QGIS map back to the
 * same field type. */
const char *
dothi_field_type_to_sql (DothiFieldType type)
{
  switch (type)
    {
    case DOTHI_FIELD_INTEGER:
      return "INTEGER";
    case DOTHI_FIELD_REAL:
      return "DOUBLE";
    case DOTHI_FIELD_DATE:
      return "DATE";
    case DOTHI_FIELD_DATETIME:
      return "DATETIME";
    case DOTHI_FIELD_BOOLEAN:
      return "BOOLEAN";
    case DOTHI_FIELD_BLOB:
      return "BLOB";
    case DOTHI_FIELD_TEXT:
    default:
      return "TEXT";
    }
}

char *
dothi_slugify (const char *text)
{
  g_autofree char *nfd = NULL;
  GString *out = g_string_new (NULL);
  gboolean last_sep = TRUE;

  if (text != NULL && g_utf8_validate (text, -1, NULL))
    nfd = g_utf8_normalize (text, -1, G_NORMALIZE_NFD);

  for (const char *p = nfd; p != NULL && *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0x0111 || c == 0x0110) /* đ Đ have no decomposition */
        c = 'd';
      if (g_unichar_ismark (c))
        continue;
      if (c < 128 && g_ascii_isalnum (c))
        {
          g_string_append_c (out, g_ascii_tolower (c));
          last_sep = FALSE;
        }
      else if (!last_sep)
        {
          g_string_append_c (out, '_');
          last_sep = TRUE;
        }
    }
  /* Table names stay short enough for suffixes (_2) and for SpatiaLite's
   * idx_<table>_geom: cut at a word boundary. */
  if (out->len > 48)
    {
      const char *cut = g_strrstr_len (out->str, 48, "_");
      g_string_truncate (out, cut != NULL && cut - out->str >= 24 ? (gsize) (cut - out->str) : 48);
    }
  while (out->len > 0 && out->str[out->len - 1] == '_')
    g_string_truncate (out, out->len - 1);
  if (out->len == 0)
    g_string_append (out, "layer");
  if (g_ascii_isdigit (out->str[0]))
    g_string_prepend (out, "l_");
  return g_string_free (out, FALSE);
}
