/* dothi-edit.c: change sets checked in C and applied as one action; undo,
 * redo and revert as compensating actions from the audit trail and the
 * registry journal; the audit trail as the app and CLI read it (DESIGN §2). */
#define G_LOG_DOMAIN "dothi-edit"

#include "config.h"
#include "dothi-edit.h"
#include "dothi-domain.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <cpl_error.h>
#include <geos_c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Progress and cancellation are looked at once per this many changes. */
#define BATCH 1000

/* A geometry further than this (degrees) outside its CRS's area of use is
 * taken for coordinates in another CRS (WGS 84 degrees read as metres). */
#define AREA_MARGIN 3.0

struct _DothiChangeSet
{
  GPtrArray *changes;   /* DothiFeatureChange* */
  int        srid;      /* EPSG code of the geometries; 0: each layer's own */
};

typedef enum {
  KIND_DO,
  KIND_UNDO,
  KIND_REDO,
  KIND_REVERT,
} ActionKind;

static const char *kind_names[] = { "do", "undo", "redo", "revert" };

/* ---- change sets ------------------------------------------------------- */

static void
feature_change_free (DothiFeatureChange *change)
{
  g_free (change->layer);
  g_clear_pointer (&change->properties, json_object_unref);
  g_clear_pointer (&change->wkb, g_bytes_unref);
  g_free (change);
}

DothiChangeSet *
dothi_change_set_new (void)
{
  DothiChangeSet *set = g_new0 (DothiChangeSet, 1);

  set->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) feature_change_free);
  return set;
}

void
dothi_change_set_free (DothiChangeSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_unref (set->changes);
  g_free (set);
}

static void
add_change (DothiChangeSet *set, DothiChangeOp op, const char *layer, gint64 fid,
            JsonObject *properties, GBytes *wkb)
{
  DothiFeatureChange *change = g_new0 (DothiFeatureChange, 1);

  change->op = op;
  change->layer = g_strdup (layer);
  change->fid = fid;
  change->properties = properties ? json_object_ref (properties) : NULL;
  change->wkb = wkb ? g_bytes_ref (wkb) : NULL;
  g_ptr_array_add (set->changes, change);
}

void
dothi_change_set_insert (DothiChangeSet *set, const char *layer,
                         JsonObject *properties, GBytes *wkb)
{
  g_return_if_fail (set != NULL && layer != NULL);
  add_change (set, DOTHI_CHANGE_INSERT, layer, -1, properties, wkb);
}

void
dothi_change_set_update (DothiChangeSet *set, const char *layer, gint64 fid,
                         JsonObject *properties, GBytes *wkb)
{
  g_return_if_fail (set != NULL && layer != NULL);
  add_change (set, DOTHI_CHANGE_UPDATE, layer, fid, properties, wkb);
}

void
dothi_change_set_delete (DothiChangeSet *set, const char *layer, gint64 fid)
{
  g_return_if_fail (set != NULL && layer != NULL);
  add_change (set, DOTHI_CHANGE_DELETE, layer, fid, NULL, NULL);
}

guint
dothi_change_set_get_n_changes (DothiChangeSet *set)
{
  g_return_val_if_fail (set != NULL, 0);
  return set->changes->len;
}

const DothiFeatureChange *
dothi_change_set_get_change (DothiChangeSet *set, guint index)
{
  g_return_val_if_fail (set != NULL, NULL);
  g_return_val_if_fail (index < set->changes->len, NULL);
  return g_ptr_array_index (set->changes, index);
}

/* The EPSG code a GeoJSON "crs" member names (the 2008 GeoJSON form
 * {"type": "name", "properties": {"name": ...}} or a plain string). */
static int
parse_geojson_crs (JsonNode *node, GError **error)
{
  const char *name = NULL;
  const char *p;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    name = json_node_get_string (node);
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *props = json_object_get_object_member (json_node_get_object (node), "properties");
      if (props != NULL)
        name = json_object_get_string_member_with_default (props, "name", NULL);
    }
  if (name == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   _("The “crs” member of the change set names no coordinate reference system"));
      return 0;
    }
  if (g_str_has_suffix (name, "CRS84") || g_str_has_suffix (name, "crs84"))
    return 4326;
  /* urn:ogc:def:crs:EPSG::9218, urn:ogc:def:crs:EPSG:6.6:4326 */
  p = strrchr (name, ':');
  if (g_str_has_prefix (name, "urn:ogc:def:crs:EPSG:") && p != NULL)
    return dothi_crs_parse (p + 1, error);
  return dothi_crs_parse (name, error);
}

static GBytes *
geometry_from_geojson (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, FALSE);
  g_auto(OGRGeometryH) geom = NULL;
  guint8 *buf;
  int size;

  CPLPushErrorHandler (CPLQuietErrorHandler);
  geom = OGR_G_CreateGeometryFromJson (text);
  CPLPopErrorHandler ();
  if (geom == NULL)
    return NULL;
  size = OGR_G_WkbSize (geom);
  buf = g_malloc (size);
  if (OGR_G_ExportToIsoWkb (geom, wkbNDR, buf) != OGRERR_NONE)
    {
      g_free (buf);
      return NULL;
    }
  return g_bytes_new_take (buf, size);
}

DothiChangeSet *
dothi_change_set_new_from_geojson (const char *text, gssize length, const char *layer,
                                   GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(JsonArray) single = NULL;
  JsonNode *root;
  JsonObject *top;
  JsonArray *features;
  const char *type;

  g_return_val_if_fail (text != NULL, NULL);

  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: the JSON parser's message */
                   _("The change set is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  top = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  type = top ? json_object_get_string_member_with_default (top, "type", NULL) : NULL;
  if (g_strcmp0 (type, "FeatureCollection") == 0
      && json_object_has_member (top, "features")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (top, "features")))
    features = json_object_get_array_member (top, "features");
  else if (g_strcmp0 (type, "Feature") == 0)
    {
      single = json_array_new ();
      json_array_add_element (single, json_node_copy (root));
      features = single;
    }
  else
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The change set is not a GeoJSON FeatureCollection"));
      return NULL;
    }

  if (json_object_has_member (top, "crs") && !JSON_NODE_HOLDS_NULL (json_object_get_member (top, "crs")))
    {
      set->srid = parse_geojson_crs (json_object_get_member (top, "crs"), error);
      if (set->srid == 0)
        return NULL;
    }

  for (guint i = 0; i < json_array_get_length (features); i++)
    {
      JsonNode *fnode = json_array_get_element (features, i);
      JsonObject *f = JSON_NODE_HOLDS_OBJECT (fnode) ? json_node_get_object (fnode) : NULL;
      JsonNode *id, *geometry, *props;
      const char *flayer, *op;
      g_autoptr(GBytes) wkb = NULL;
      DothiChangeOp change_op;
      gint64 fid = -1;
      guint n = i + 1;

      if (f == NULL || g_strcmp0 (json_object_get_string_member_with_default (f, "type", NULL), "Feature") != 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a position in the change set, from 1 */
                       _("Feature %u of the change set is not a GeoJSON Feature"), n);
          return NULL;
        }
      id = json_object_get_member (f, "id");
      if (id != NULL && !JSON_NODE_HOLDS_NULL (id))
        {
          gboolean ok = FALSE;

          if (JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_INT64)
            {
              fid = json_node_get_int (id);
              ok = TRUE;
            }
          else if (JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING)
            ok = g_ascii_string_to_signed (json_node_get_string (id), 10, 1, G_MAXINT64, &fid, NULL);
          if (!ok || fid <= 0)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           _("Feature %u of the change set has an “id” that is not a feature number"), n);
              return NULL;
            }
        }

      flayer = json_object_get_string_member_with_default (f, "dothi:layer", layer);
      if (flayer == NULL || *flayer == '\0')
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       _("Feature %u of the change set names no layer (“dothi:layer”)"), n);
          return NULL;
        }

      op = json_object_get_string_member_with_default (f, "dothi:op", NULL);
      if (op == NULL)
        change_op = fid > 0 ? DOTHI_CHANGE_UPDATE : DOTHI_CHANGE_INSERT;
      else if (g_str_equal (op, "insert"))
        change_op = DOTHI_CHANGE_INSERT;
      else if (g_str_equal (op, "update"))
        change_op = DOTHI_CHANGE_UPDATE;
      else if (g_str_equal (op, "delete"))
        change_op = DOTHI_CHANGE_DELETE;
      else
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a position in the change set, then what it says */
                       _("Feature %u of the change set has an unknown “dothi:op” “%s”; use insert, update or delete"),
                       n, op);
          return NULL;
        }
      if (change_op != DOTHI_CHANGE_INSERT && fid <= 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       _("Feature %u of the change set is an update or delete without an “id”"), n);
          return NULL;
        }

      props = json_object_get_member (f, "properties");
      if (props != NULL && !JSON_NODE_HOLDS_NULL (props) && !JSON_NODE_HOLDS_OBJECT (props))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       _("Feature %u of the change set has “properties” that are not an object"), n);
          return NULL;
        }

      geometry = json_object_get_member (f, "geometry");
      if (change_op != DOTHI_CHANGE_DELETE && geometry != NULL && JSON_NODE_HOLDS_OBJECT (geometry))
        {
          wkb = geometry_from_geojson (geometry);
          if (wkb == NULL)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           _("Feature %u of the change set has a geometry that cannot be read"), n);
              return NULL;
            }
        }

      add_change (set, change_op, flayer, change_op == DOTHI_CHANGE_INSERT ? -1 : fid,
                  props && JSON_NODE_HOLDS_OBJECT (props) ? json_node_get_object (props) : NULL,
                  wkb);
    }
  return g_steal_pointer (&set);
}

/* ---- helpers ------------------------------------------------------------ */

static sqlite3 *
project_db (DothiProject *project)
{
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (project)));
}

static DothiSpatialiteStore *
project_store (DothiProject *project)
{
  return DOTHI_SPATIALITE_STORE (dothi_project_get_store (project));
}

/* A failed statement inside an action. SpatiaLite's triggers end the
 * whole transaction with RAISE(ROLLBACK); then the action is gone and is
 * said so, never continued in autocommit mode. */
static gboolean
set_write_error (DothiProject *project, const char *layer, GError **error)
{
  sqlite3 *db = project_db (project);

  if (sqlite3_get_autocommit (db))
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                 /* Translators: project file, then the database's message */
                 _("The change to “%s” was cancelled by the database; nothing was saved: %s"),
                 dothi_project_get_path (project), sqlite3_errmsg (db));
  else
    g_set_error (error, DOTHI_ERROR,
                 (sqlite3_extended_errcode (db) & 0xff) == SQLITE_CONSTRAINT
                   ? DOTHI_ERROR_INVALID_DATA : DOTHI_ERROR_FAILED,
                 /* Translators: layer name, then the database's message */
                 _("Database error in “%s”: %s"), layer, sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
set_read_error (DothiProject *project, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               _("Database error in “%s”: %s"), dothi_project_get_path (project),
               sqlite3_errmsg (project_db (project)));
  return FALSE;
}

static gboolean
check_writable (DothiProject *project, GError **error)
{
  if (dothi_project_get_read_only (project))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   /* Translators: project file */
                   _("“%s” is open read-only"), dothi_project_get_path (project));
      return FALSE;
    }
  return TRUE;
}

static const char *
layer_title (const DothiLayerInfo *info)
{
  return info->title && *info->title ? info->title : info->name;
}

/* SQLite 3.40 has no unhex(): BLOB attributes come back from the audit
 * images as hex() text. */
static GBytes *
decode_hex (const char *s)
{
  gsize len = strlen (s);
  guint8 *buf;

  if (len % 2 != 0)
    return NULL;
  buf = g_malloc (MAX (len / 2, 1));
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (s[2 * i]);
      int lo = g_ascii_xdigit_value (s[2 * i + 1]);

      if (hi < 0 || lo < 0)
        {
          g_free (buf);
          return NULL;
        }
      buf[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (buf, len / 2);
}

static gboolean
bytes_equal (const void *a, gsize a_len, const void *b, gsize b_len)
{
  if (a == NULL || b == NULL)
    return a == NULL && b == NULL;
  return a_len == b_len && memcmp (a, b, a_len) == 0;
}

/* ---- checking a change set ---------------------------------------------- */

typedef struct {
  DothiLayerInfo              *info;
  int                          srid_from;   /* the set's CRS, when not the layer's */
  OGRCoordinateTransformationH to_layer;
  OGRCoordinateTransformationH to_wgs84;    /* for the area-of-use check */
  double                       area[4];     /* west, south, east, north */
  gboolean                     have_area;
  sqlite3_stmt                *insert;
  sqlite3_stmt                *delete;
  sqlite3_stmt                *exists;
  GHashTable                  *updates;     /* field list → sqlite3_stmt* */
  GHashTable                  *domains;     /* field → DothiDomain* (dothi-domain.h) */
  gint64                       count_delta;
  double                       extent[4];
} EditLayer;

static void
edit_layer_free (EditLayer *el)
{
  dothi_layer_info_free (el->info);
  if (el->to_layer)
    OCTDestroyCoordinateTransformation (el->to_layer);
  if (el->to_wgs84)
    OCTDestroyCoordinateTransformation (el->to_wgs84);
  sqlite3_finalize (el->insert);
  sqlite3_finalize (el->delete);
  sqlite3_finalize (el->exists);
  g_hash_table_unref (el->updates);
  g_clear_pointer (&el->domains, g_hash_table_unref);
  g_free (el);
}

typedef struct {
  EditLayer  *layer;
  GByteArray *blob;      /* SpatiaLite blob; NULL: none (insert) or kept (update) */
  double      mbr[4];
  int        *fields;    /* indexes of the fields set, ascending; n_fields of them */
  guint       n_fields;
} Checked;

static void
checked_clear (Checked *c)
{
  g_clear_pointer (&c->blob, g_byte_array_unref);
  g_clear_pointer (&c->fields, g_free);
}

/* "feature 12 of layer “Thửa đất”" or "new feature 3 of layer …": who a
 * message is about. */
static char *
describe (const DothiFeatureChange *change, guint index, const DothiLayerInfo *info)
{
  if (change->op == DOTHI_CHANGE_INSERT)
    /* Translators: a position in the change set (from 1), layer title */
    return g_strdup_printf (_("new feature %u of layer “%s”"), index + 1, layer_title (info));
  /* Translators: feature id, layer title */
  return g_strdup_printf (_("feature %lld of layer “%s”"), (long long) change->fid, layer_title (info));
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static EditLayer *
get_edit_layer (DothiProject *project, GHashTable *layers, int set_srid,
                const char *name, guint index, GError **error)
{
  EditLayer *el = g_hash_table_lookup (layers, name);
  g_autoptr(GError) local_error = NULL;
  DothiLayerInfo *info;

  if (el != NULL)
    return el;
  info = dothi_project_get_layer (project, name, &local_error);
  if (info == NULL)
    {
      if (g_error_matches (local_error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND))
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                     /* Translators: a position in the change set, layer, project file */
                     _("Change %u of the set is for layer “%s”, which is not in “%s”"),
                     index + 1, name, dothi_project_get_path (project));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  el = g_new0 (EditLayer, 1);
  el->info = info;
  el->updates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       finalize_statement);
  el->extent[0] = el->extent[1] = G_MAXDOUBLE;
  el->extent[2] = el->extent[3] = -G_MAXDOUBLE;
  g_hash_table_insert (layers, info->name, el);
  el->domains = dothi_domain_get_all (project, name, error);
  if (el->domains == NULL)
    return NULL;

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE && info->srid > 0)
    {
      g_auto(OGRSpatialReferenceH) layer_srs = dothi_crs_new_srs (info->srid, NULL);
      g_auto(OGRSpatialReferenceH) wgs84 = dothi_crs_new_srs (4326, NULL);
      const char *area_name = NULL;

      if (layer_srs != NULL && wgs84 != NULL
          && OSRGetAreaOfUse (layer_srs, &el->area[0], &el->area[1], &el->area[2], &el->area[3], &area_name)
          && el->area[0] <= el->area[2] && el->area[0] > -1000)
        {
          CPLPushErrorHandler (CPLQuietErrorHandler);
          el->to_wgs84 = OCTNewCoordinateTransformation (layer_srs, wgs84);
          CPLPopErrorHandler ();
          el->have_area = el->to_wgs84 != NULL;
        }
      if (set_srid > 0 && set_srid != info->srid)
        {
          g_auto(OGRSpatialReferenceH) from = dothi_crs_new_srs (set_srid, error);

          if (from == NULL || layer_srs == NULL)
            return NULL;
          el->srid_from = set_srid;
          CPLPushErrorHandler (CPLQuietErrorHandler);
          el->to_layer = OCTNewCoordinateTransformation (from, layer_srs);
          CPLPopErrorHandler ();
          if (el->to_layer == NULL)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                           /* Translators: two EPSG codes, layer title */
                           _("Coordinates in EPSG:%d cannot be transformed to EPSG:%d of layer “%s”"),
                           set_srid, info->srid, layer_title (info));
              return NULL;
            }
        }
    }
  return el;
}

static const char *
field_type_phrase (DothiFieldType type)
{
  switch (type)
    {
    case DOTHI_FIELD_INTEGER:
      return _("a whole number");
    case DOTHI_FIELD_REAL:
      return _("a number");
    case DOTHI_FIELD_DATE:
      return _("a date (YYYY-MM-DD)");
    case DOTHI_FIELD_DATETIME:
      return _("a date and time (ISO 8601)");
    case DOTHI_FIELD_BOOLEAN:
      return _("true or false");
    case DOTHI_FIELD_BLOB:
      return _("hexadecimal bytes");
    case DOTHI_FIELD_TEXT:
    default:
      return _("text");
    }
}

static gboolean
is_iso_date (const char *s)
{
  guint y, m, d;

  if (strlen (s) != 10 || s[4] != '-' || s[7] != '-')
    return FALSE;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit (s[i]))
      return FALSE;
  y = (guint) atoi (s);
  m = (guint) atoi (s + 5);
  d = (guint) atoi (s + 8);
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && g_date_valid_dmy (d, m, y);
}

static gboolean
is_iso_datetime (const char *s)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (s, utc);

  return dt != NULL || is_iso_date (s);
}

/* Whether JSON @node fits a field of @type (null fits every field). */
static gboolean
value_fits (JsonNode *node, DothiFieldType type)
{
  GType vt;

  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  vt = json_node_get_value_type (node);
  switch (type)
    {
    case DOTHI_FIELD_INTEGER:
      if (vt == G_TYPE_INT64)
        return TRUE;
      if (vt == G_TYPE_DOUBLE)
        {
          double d = json_node_get_double (node);
          return isfinite (d) && d == floor (d) && fabs (d) < 9.2e18;
        }
      return FALSE;
    case DOTHI_FIELD_REAL:
      return vt == G_TYPE_INT64 || (vt == G_TYPE_DOUBLE && isfinite (json_node_get_double (node)));
    case DOTHI_FIELD_BOOLEAN:
      return vt == G_TYPE_BOOLEAN;
    case DOTHI_FIELD_DATE:
      return vt == G_TYPE_STRING && is_iso_date (json_node_get_string (node));
    case DOTHI_FIELD_DATETIME:
      return vt == G_TYPE_STRING && is_iso_datetime (json_node_get_string (node));
    case DOTHI_FIELD_BLOB:
      if (vt == G_TYPE_STRING)
        {
          g_autoptr(GBytes) b = decode_hex (json_node_get_string (node));
          return b != NULL;
        }
      return FALSE;
    case DOTHI_FIELD_TEXT:
    default:
      return vt == G_TYPE_STRING;
    }
}

static int
compare_int (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

static gboolean
check_properties (const DothiFeatureChange *change, guint index, EditLayer *el,
                  Checked *c, GError **error)
{
  g_autoptr(GList) members = NULL;
  guint n = 0;

  if (change->properties == NULL || change->op == DOTHI_CHANGE_DELETE)
    return TRUE;
  members = json_object_get_members (change->properties);
  c->fields = g_new (int, MAX (g_list_length (members), 1));
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      int fi = dothi_layer_info_find_field (el->info, name);
      const DothiField *field;

      if (fi < 0)
        {
          g_autofree char *who = describe (change, index, el->info);
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                       /* Translators: field name, then “feature 12 of layer “…”” */
                       _("There is no field “%s” in %s"), name, who);
          return FALSE;
        }
      field = g_ptr_array_index (el->info->fields, fi);
      if (!value_fits (json_object_get_member (change->properties, name), field->type))
        {
          g_autofree char *who = describe (change, index, el->info);
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: field name, “feature 12 of layer “…””, a type
                        * such as “a whole number” */
                       _("Field “%s” of %s must be %s"), name, who, field_type_phrase (field->type));
          return FALSE;
        }
      c->fields[n++] = fi;
    }
  c->n_fields = n;
  qsort (c->fields, n, sizeof (int), compare_int);
  return TRUE;
}

/* Makes a single geometry the MULTI kind of the layer; NULL when it does
 * not fit. Consumes @geom. */
static OGRGeometryH
promote_geometry (OGRGeometryH geom, DothiGeometryKind kind)
{
  OGRwkbGeometryType flat = wkbFlatten (OGR_G_GetGeometryType (geom));
  OGRwkbGeometryType want;

  switch (kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      want = wkbMultiPoint;
      break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      want = wkbMultiLineString;
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
      want = wkbMultiPolygon;
      break;
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      if (flat == wkbPoint || flat == wkbLineString || flat == wkbPolygon)
        return OGR_G_ForceTo (geom, OGR_GT_GetCollection (flat), NULL);
      if (flat == wkbMultiPoint || flat == wkbMultiLineString || flat == wkbMultiPolygon)
        return geom;
      if (flat == wkbGeometryCollection)
        {
          /* SpatiaLite collections hold simple parts only. */
          for (int i = 0; i < OGR_G_GetGeometryCount (geom); i++)
            {
              OGRwkbGeometryType t = wkbFlatten (OGR_G_GetGeometryType (OGR_G_GetGeometryRef (geom, i)));
              if (t != wkbPoint && t != wkbLineString && t != wkbPolygon)
                goto refuse;
            }
          return geom;
        }
      goto refuse;
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      goto refuse;
    }
  if (flat == want)
    return geom;
  if (OGR_GT_GetCollection (flat) == want)
    return OGR_G_ForceTo (geom, want, NULL);

refuse:
  OGR_G_DestroyGeometry (geom);
  return NULL;
}

/* TRUE when @geom lies within the area of use of the layer's CRS (with a
 * wide margin): catches degrees given as metres. */
static gboolean
within_area_of_use (EditLayer *el, OGRGeometryH geom)
{
  OGREnvelope env;
  double x[5], y[5];
  int ok[5];

  if (!el->have_area)
    return TRUE;
  OGR_G_GetEnvelope (geom, &env);
  x[0] = env.MinX; y[0] = env.MinY;
  x[1] = env.MaxX; y[1] = env.MinY;
  x[2] = env.MaxX; y[2] = env.MaxY;
  x[3] = env.MinX; y[3] = env.MaxY;
  x[4] = (env.MinX + env.MaxX) / 2; y[4] = (env.MinY + env.MaxY) / 2;
  CPLPushErrorHandler (CPLQuietErrorHandler);
  if (!OCTTransformEx (el->to_wgs84, 5, x, y, NULL, ok))
    {
      CPLPopErrorHandler ();
      return FALSE;
    }
  CPLPopErrorHandler ();
  for (int i = 0; i < 5; i++)
    if (!ok[i] || !isfinite (x[i]) || !isfinite (y[i])
        || x[i] < el->area[0] - AREA_MARGIN || x[i] > el->area[2] + AREA_MARGIN
        || y[i] < el->area[1] - AREA_MARGIN || y[i] > el->area[3] + AREA_MARGIN)
      return FALSE;
  return TRUE;
}

static gboolean
check_geometry (const DothiFeatureChange *change, guint index, EditLayer *el,
                GEOSContextHandle_t geos, GEOSWKBReader *reader, Checked *c, GError **error)
{
  const DothiLayerInfo *info = el->info;
  g_auto(OGRGeometryH) geom = NULL;
  g_autofree char *who = NULL;
  g_autoptr(GByteArray) wkb = NULL;
  const guint8 *data;
  gsize len;

  if (change->wkb == NULL || change->op == DOTHI_CHANGE_DELETE)
    return TRUE;
  who = describe (change, index, info);
  if (info->kind == DOTHI_GEOMETRY_KIND_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: “feature 12 of layer “…”” */
                   _("%s has a geometry, but the layer has no geometry column"), who);
      return FALSE;
    }
  data = g_bytes_get_data (change->wkb, &len);
  if (OGR_G_CreateFromWkbEx (data, NULL, &geom, len) != OGRERR_NONE || geom == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The geometry of %s cannot be read"), who);
      return FALSE;
    }
  if (OGR_G_IsEmpty (geom))
    {
      /* An empty geometry is no geometry; an update keeps the old one. */
      return TRUE;
    }
  if (OGR_G_HasCurveGeometry (geom, TRUE))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The geometry of %s has curves; give it as straight segments"), who);
      return FALSE;
    }
  {
    OGRwkbGeometryType given = OGR_G_GetGeometryType (geom);
    g_autofree char *given_name = g_strdup (OGRGeometryTypeToName (wkbFlatten (given)));

    geom = promote_geometry (g_steal_pointer (&geom), info->kind);
    if (geom == NULL)
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: “feature 12 of layer “…””, a geometry type such
                      * as “Line String”, then the layer's kind such as “polygons” */
                     _("The geometry of %s is a %s, but the layer holds %s"),
                     who, given_name, dothi_geometry_kind_to_label (info->kind));
        return FALSE;
      }
  }
  if (OGR_G_Is3D (geom) && !info->has_z)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The geometry of %s has Z coordinates, but the layer is 2D"), who);
      return FALSE;
    }
  if (!OGR_G_Is3D (geom) && info->has_z)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The geometry of %s has no Z coordinates, but the layer is 3D"), who);
      return FALSE;
    }
  if (OGR_G_IsMeasured (geom) != info->has_m)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   info->has_m ? _("The geometry of %s has no M values, but the layer has them")
                               : _("The geometry of %s has M values, but the layer has none"), who);
      return FALSE;
    }
  if (el->to_layer != NULL && OGR_G_Transform (geom, el->to_layer) != OGRERR_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: “feature 12 of layer “…””, two EPSG codes */
                   _("The geometry of %s cannot be transformed from EPSG:%d to EPSG:%d"),
                   who, el->srid_from, info->srid);
      return FALSE;
    }
  if (!within_area_of_use (el, geom))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: “feature 12 of layer “…””, an EPSG code */
                   _("The coordinates of %s lie far outside the area of EPSG:%d; if they are in another "
                     "coordinate reference system, name it in the change set’s “crs” member"),
                   who, info->srid);
      return FALSE;
    }

  wkb = g_byte_array_sized_new (OGR_G_WkbSize (geom));
  g_byte_array_set_size (wkb, OGR_G_WkbSize (geom));
  if (OGR_G_ExportToIsoWkb (geom, wkbNDR, wkb->data) != OGRERR_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The geometry of %s cannot be read"), who);
      return FALSE;
    }

  /* GEOS, as SpatiaLite's ST_IsValid and QGIS see it; points are always
   * valid. */
  if (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOINT)
    {
      GEOSGeometry *g = GEOSWKBReader_read_r (geos, reader, wkb->data, wkb->len);
      char valid;

      if (g == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       _("The geometry of %s cannot be read"), who);
          return FALSE;
        }
      valid = GEOSisValid_r (geos, g);
      if (valid != 1)
        {
          char *reason = GEOSisValidReason_r (geos, g);

          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: “feature 12 of layer “…””, then GEOS's reason
                        * (English), such as “Self-intersection[458300 1403400]” */
                       _("The geometry of %s is invalid: %s"), who, reason ? reason : "");
          if (reason != NULL)
            GEOSFree_r (geos, reason);
          GEOSGeom_destroy_r (geos, g);
          return FALSE;
        }
      GEOSGeom_destroy_r (geos, g);
    }

  c->blob = g_byte_array_new ();
  if (!dothi_blob_from_wkb (wkb->data, wkb->len, info->srid, c->blob, c->mbr))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The geometry of %s cannot be read"), who);
      return FALSE;
    }
  return TRUE;
}

/* ---- writing a change set ---------------------------------------------- */

static gboolean
prepare_sql (DothiProject *project, const char *sql, sqlite3_stmt **stmt, GError **error)
{
  if (sqlite3_prepare_v2 (project_db (project), sql, -1, stmt, NULL) != SQLITE_OK)
    return set_read_error (project, error);
  return TRUE;
}

static gboolean
bind_json_value (sqlite3_stmt *stmt, int p, JsonNode *node, DothiFieldType type)
{
  int rc;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return sqlite3_bind_null (stmt, p) == SQLITE_OK;
  switch (type)
    {
    case DOTHI_FIELD_INTEGER:
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        rc = sqlite3_bind_int64 (stmt, p, (gint64) json_node_get_double (node));
      else
        rc = sqlite3_bind_int64 (stmt, p, json_node_get_int (node));
      break;
    case DOTHI_FIELD_REAL:
      rc = sqlite3_bind_double (stmt, p, json_node_get_double (node));
      break;
    case DOTHI_FIELD_BOOLEAN:
      rc = sqlite3_bind_int (stmt, p, json_node_get_boolean (node) ? 1 : 0);
      break;
    case DOTHI_FIELD_BLOB:
      {
        g_autoptr(GBytes) bytes = decode_hex (json_node_get_string (node));
        gsize len;
        const void *data = g_bytes_get_data (bytes, &len);
        rc = sqlite3_bind_blob64 (stmt, p, data ? data : "", len, SQLITE_TRANSIENT);
      }
      break;
    case DOTHI_FIELD_TEXT:
    case DOTHI_FIELD_DATE:
    case DOTHI_FIELD_DATETIME:
    default:
      {
        /* Text of record is NFC (DESIGN.md §2). */
        char *nfc = g_utf8_normalize (json_node_get_string (node), -1, G_NORMALIZE_NFC);
        rc = sqlite3_bind_text (stmt, p, nfc ? nfc : "", -1, g_free);
      }
      break;
    }
  return rc == SQLITE_OK;
}

static sqlite3_stmt *
insert_statement (DothiProject *project, EditLayer *el, GError **error)
{
  const DothiLayerInfo *info = el->info;
  g_autoptr(GString) sql = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new (NULL);
  g_autoptr(DothiSqlStr) head = NULL;
  guint n = 0;

  if (el->insert != NULL)
    return el->insert;
  head = sqlite3_mprintf ("INSERT INTO \"%w\" (", info->name);
  g_string_append (sql, head);
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf ("%s\"%w\"", n ? ", " : "", f->name);

      g_string_append (sql, col);
      g_string_append_printf (params, "%s?%u", n ? ", " : "", n + 1);
      n++;
    }
  if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
    {
      g_string_append_printf (sql, "%sgeom", n ? ", " : "");
      g_string_append_printf (params, "%s?%u", n ? ", " : "", n + 1);
      n++;
    }
  if (n == 0)
    g_string_append (sql, ") DEFAULT VALUES");
  else
    g_string_append_printf (sql, ") VALUES (%s)", params->str);
  if (!prepare_sql (project, sql->str, &el->insert, error))
    return NULL;
  return el->insert;
}

static sqlite3_stmt *
update_statement (DothiProject *project, EditLayer *el, const Checked *c, GError **error)
{
  const DothiLayerInfo *info = el->info;
  g_autoptr(GString) key = g_string_new (NULL);
  g_autoptr(GString) sql = g_string_new (NULL);
  g_autoptr(DothiSqlStr) head = NULL;
  sqlite3_stmt *stmt;
  guint n = 0;

  for (guint i = 0; i < c->n_fields; i++)
    g_string_append_printf (key, "%d,", c->fields[i]);
  if (c->blob != NULL)
    g_string_append (key, "g");
  stmt = g_hash_table_lookup (el->updates, key->str);
  if (stmt != NULL)
    return stmt;

  head = sqlite3_mprintf ("UPDATE \"%w\" SET ", info->name);
  g_string_append (sql, head);
  for (guint i = 0; i < c->n_fields; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, c->fields[i]);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf ("%s\"%w\" = ?%u", n ? ", " : "", f->name, n + 1);

      g_string_append (sql, col);
      n++;
    }
  if (c->blob != NULL)
    {
      g_string_append_printf (sql, "%sgeom = ?%u", n ? ", " : "", n + 1);
      n++;
    }
  g_string_append_printf (sql, " WHERE fid = ?%u", n + 1);
  if (!prepare_sql (project, sql->str, &stmt, error))
    return NULL;
  g_hash_table_insert (el->updates, g_strdup (key->str), stmt);
  return stmt;
}

static void
grow_extent (EditLayer *el, const double mbr[4])
{
  el->extent[0] = MIN (el->extent[0], mbr[0]);
  el->extent[1] = MIN (el->extent[1], mbr[1]);
  el->extent[2] = MAX (el->extent[2], mbr[2]);
  el->extent[3] = MAX (el->extent[3], mbr[3]);
}

static gboolean
write_change (DothiProject *project, const DothiFeatureChange *change, guint index,
              Checked *c, GArray *new_fids, GError **error)
{
  EditLayer *el = c->layer;
  const DothiLayerInfo *info = el->info;
  sqlite3 *db = project_db (project);
  sqlite3_stmt *stmt = NULL;

  switch (change->op)
    {
    case DOTHI_CHANGE_INSERT:
      {
        guint nf = info->fields->len;

        stmt = insert_statement (project, el, error);
        if (stmt == NULL)
          return FALSE;
        sqlite3_reset (stmt);
        sqlite3_clear_bindings (stmt);
        for (guint i = 0; i < c->n_fields; i++)
          {
            const DothiField *f = g_ptr_array_index (info->fields, c->fields[i]);
            JsonNode *node = json_object_get_member (change->properties, f->name);

            if (!bind_json_value (stmt, c->fields[i] + 1, node, f->type))
              return set_write_error (project, info->name, error);
          }
        if (info->kind != DOTHI_GEOMETRY_KIND_NONE && c->blob != NULL)
          sqlite3_bind_blob (stmt, (int) nf + 1, c->blob->data, (int) c->blob->len, SQLITE_STATIC);
        if (sqlite3_step (stmt) != SQLITE_DONE)
          {
            sqlite3_reset (stmt);
            return set_write_error (project, info->name, error);
          }
        sqlite3_reset (stmt);
        if (new_fids != NULL)
          {
            gint64 fid = sqlite3_last_insert_rowid (db);
            g_array_append_val (new_fids, fid);
          }
        el->count_delta++;
        if (c->blob != NULL)
          grow_extent (el, c->mbr);
        return TRUE;
      }

    case DOTHI_CHANGE_UPDATE:
      if (c->n_fields == 0 && c->blob == NULL)
        {
          /* Nothing to write; the feature must still exist. */
          g_autoptr(DothiSqlStr) sql = NULL;

          if (el->exists == NULL)
            {
              sql = sqlite3_mprintf ("SELECT 1 FROM \"%w\" WHERE fid = ?1", info->name);
              if (!prepare_sql (project, sql, &el->exists, error))
                return FALSE;
            }
          sqlite3_reset (el->exists);
          sqlite3_bind_int64 (el->exists, 1, change->fid);
          if (sqlite3_step (el->exists) != SQLITE_ROW)
            goto not_found;
          sqlite3_reset (el->exists);
          return TRUE;
        }
      stmt = update_statement (project, el, c, error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_reset (stmt);
      for (guint i = 0; i < c->n_fields; i++)
        {
          const DothiField *f = g_ptr_array_index (info->fields, c->fields[i]);
          JsonNode *node = json_object_get_member (change->properties, f->name);

          if (!bind_json_value (stmt, (int) i + 1, node, f->type))
            return set_write_error (project, info->name, error);
        }
      if (c->blob != NULL)
        sqlite3_bind_blob (stmt, (int) c->n_fields + 1, c->blob->data, (int) c->blob->len, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, (int) c->n_fields + (c->blob ? 2 : 1), change->fid);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          sqlite3_reset (stmt);
          return set_write_error (project, info->name, error);
        }
      sqlite3_reset (stmt);
      if (sqlite3_changes (db) == 0)
        goto not_found;
      if (c->blob != NULL)
        grow_extent (el, c->mbr);
      return TRUE;

    case DOTHI_CHANGE_DELETE:
    default:
      if (el->delete == NULL)
        {
          g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("DELETE FROM \"%w\" WHERE fid = ?1", info->name);
          if (!prepare_sql (project, sql, &el->delete, error))
            return FALSE;
        }
      stmt = el->delete;
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, change->fid);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          sqlite3_reset (stmt);
          return set_write_error (project, info->name, error);
        }
      sqlite3_reset (stmt);
      if (sqlite3_changes (db) == 0)
        goto not_found;
      el->count_delta--;
      return TRUE;
    }

not_found:
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: feature id, layer title, a position in the change set */
               _("There is no feature %lld in layer “%s” (change %u of the set)"),
               (long long) change->fid, layer_title (info), index + 1);
  return FALSE;
}

/* Keeps the registry's count and extent in step with the rows, inside
 * the action. */
static gboolean
update_registry_counts (DothiProject *project, const char *layer, gint64 delta,
                        const double extent[4], GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean have_extent = extent != NULL && extent[0] <= extent[2];

  if (delta == 0 && !have_extent)
    return TRUE;
  if (!prepare_sql (project,
                    "UPDATE dothi_layers SET feature_count = max(feature_count + ?2, 0), "
                    "min_x = CASE WHEN ?3 IS NULL THEN min_x WHEN min_x IS NULL THEN ?3 ELSE min(min_x, ?3) END, "
                    "min_y = CASE WHEN ?4 IS NULL THEN min_y WHEN min_y IS NULL THEN ?4 ELSE min(min_y, ?4) END, "
                    "max_x = CASE WHEN ?5 IS NULL THEN max_x WHEN max_x IS NULL THEN ?5 ELSE max(max_x, ?5) END, "
                    "max_y = CASE WHEN ?6 IS NULL THEN max_y WHEN max_y IS NULL THEN ?6 ELSE max(max_y, ?6) END "
                    "WHERE name = ?1", &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, delta);
  for (int i = 0; i < 4; i++)
    if (have_extent)
      sqlite3_bind_double (stmt, 3 + i, extent[i]);
    else
      sqlite3_bind_null (stmt, 3 + i);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_write_error (project, layer, error);
  return TRUE;
}

static char *
kind_journal (ActionKind kind, JsonNode *registry, JsonArray *schema)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind_names[kind]);
  if (registry != NULL)
    {
      json_builder_set_member_name (b, "registry");
      json_builder_add_value (b, json_node_copy (registry));
    }
  if (schema != NULL && json_array_get_length (schema) > 0)
    {
      JsonNode *node = json_node_new (JSON_NODE_ARRAY);

      json_node_set_array (node, schema);
      json_builder_set_member_name (b, "schema");
      json_builder_add_value (b, node);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static void
report (DothiProgressFunc progress, gpointer data, double fraction, const char *stage)
{
  if (progress != NULL)
    progress (fraction, stage, data);
}

gint64
dothi_edit_apply_sync (DothiProject       *project,
                       DothiChangeSet     *set,
                       const char         *label,
                       GArray            **new_fids,
                       GCancellable       *cancellable,
                       DothiProgressFunc   progress,
                       gpointer            progress_data,
                       GError            **error)
{
  g_autoptr(GHashTable) layers = NULL;
  g_autoptr(GArray) fids = NULL;
  g_autofree Checked *checked = NULL;
  g_autofree char *default_label = NULL;
  g_autofree char *journal = NULL;
  DothiStore *store;
  GEOSContextHandle_t geos = NULL;
  GEOSWKBReader *reader = NULL;
  GHashTableIter iter;
  EditLayer *el;
  gint64 action_id = 0;
  guint n;
  gboolean ok = FALSE;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  g_return_val_if_fail (set != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!check_writable (project, error))
    return 0;
  n = set->changes->len;
  if (n == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: project file */
                   _("The change set is empty; nothing was changed in “%s”"),
                   dothi_project_get_path (project));
      return 0;
    }
  store = dothi_project_get_store (project);
  layers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) edit_layer_free);
  checked = g_new0 (Checked, n);
  fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  geos = GEOS_init_r ();
  reader = GEOSWKBReader_create_r (geos);

  /* Everything is checked before the first write: SpatiaLite's own
   * triggers would end the transaction silently. */
  for (guint i = 0; i < n; i++)
    {
      const DothiFeatureChange *change = g_ptr_array_index (set->changes, i);

      if (i % BATCH == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          report (progress, progress_data, 0.5 * i / n, _("Checking changes"));
        }
      el = get_edit_layer (project, layers, set->srid, change->layer, i, error);
      if (el == NULL)
        goto out;
      checked[i].layer = el;
      if (change->op != DOTHI_CHANGE_INSERT && change->fid <= 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                       _("There is no feature %lld in layer “%s” (change %u of the set)"),
                       (long long) change->fid, layer_title (el->info), i + 1);
          goto out;
        }
      if (!check_properties (change, i, el, &checked[i], error)
          || (change->op != DOTHI_CHANGE_DELETE
              && !dothi_domain_check_properties (el->domains, el->info, change->properties,
                                                 change->op == DOTHI_CHANGE_INSERT, error))
          || !check_geometry (change, i, el, geos, reader, &checked[i], error))
        goto out;
    }

  if (label == NULL)
    /* Translators: the name of an edit in the history */
    label = default_label = g_strdup_printf (ngettext ("Edit %u feature", "Edit %u features", n), n);
  journal = kind_journal (KIND_DO, NULL, NULL);
  if (!dothi_store_begin (store, label, error))
    goto out;
  for (guint i = 0; i < n; i++)
    {
      if (i % BATCH == 0 && i > 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto rollback;
          report (progress, progress_data, 0.5 + 0.5 * i / n, _("Saving changes"));
        }
      if (!write_change (project, g_ptr_array_index (set->changes, i), i, &checked[i], fids, error))
        goto rollback;
    }
  g_hash_table_iter_init (&iter, layers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &el))
    if (!update_registry_counts (project, el->info->name, el->count_delta, el->extent, error))
      goto rollback;
  action_id = dothi_spatialite_store_get_action_id (project_store (project));
  if (!dothi_spatialite_store_set_action_journal (project_store (project), 0, journal, error))
    goto rollback;
  /* A cancel that came during the writes still wins: nothing is saved. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto rollback;
  if (!dothi_store_commit (store, error))
    goto rollback;
  report (progress, progress_data, 1.0, _("Saving changes"));
  ok = TRUE;
  goto out;

rollback:
  dothi_store_rollback (store);
out:
  for (guint i = 0; i < n; i++)
    checked_clear (&checked[i]);
  /* Statements are finalized before anything else touches the store. */
  g_clear_pointer (&layers, g_hash_table_unref);
  GEOSWKBReader_destroy_r (geos, reader);
  GEOS_finish_r (geos);
  if (!ok)
    return 0;
  if (new_fids != NULL)
    *new_fids = g_steal_pointer (&fids);
  return action_id;
}

/* ---- the history --------------------------------------------------------- */

typedef struct {
  gint64     id;
  char      *label;
  char      *inverse;
  gint64     undo_of;
  ActionKind kind;
  gboolean   undone;
  gboolean   has_rows;
  gboolean   has_import;
  char      *import_layer;
} Action;

static void
action_free (Action *a)
{
  g_free (a->label);
  g_free (a->inverse);
  g_free (a->import_layer);
  g_free (a);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Action, action_free)

static ActionKind
kind_from_inverse (const char *inverse, JsonNode **registry)
{
  g_autoptr(JsonNode) node = NULL;
  const char *kind;
  ActionKind k = KIND_DO;

  if (registry != NULL)
    *registry = NULL;
  if (inverse == NULL)
    return KIND_DO;
  node = json_from_string (inverse, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return KIND_DO;
  kind = json_object_get_string_member_with_default (json_node_get_object (node), "kind", "do");
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (g_str_equal (kind, kind_names[i]))
      k = (ActionKind) i;
  if (registry != NULL && json_object_has_member (json_node_get_object (node), "registry"))
    *registry = json_node_copy (json_object_get_member (json_node_get_object (node), "registry"));
  return k;
}

/* The schema steps of an action's journal (what it did to layers and
 * fields, in order), or NULL. */
static JsonArray *
schema_from_inverse (const char *inverse)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *obj;
  JsonNode *schema;

  if (inverse == NULL)
    return NULL;
  node = json_from_string (inverse, NULL);
  obj = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  schema = obj ? json_object_get_member (obj, "schema") : NULL;
  if (schema == NULL || !JSON_NODE_HOLDS_ARRAY (schema)
      || json_array_get_length (json_node_get_array (schema)) == 0)
    return NULL;
  return json_array_ref (json_node_get_array (schema));
}

#define ACTION_SELECT \
  "SELECT a.id, a.label, a.inverse, COALESCE(a.undo_of, 0), " \
  "EXISTS (SELECT 1 FROM dothi_actions b WHERE b.undo_of = a.id), " \
  "EXISTS (SELECT 1 FROM dothi_audit u WHERE u.action_id = a.id), " \
  "(SELECT u.layer FROM dothi_audit u WHERE u.action_id = a.id AND u.op = 'import' LIMIT 1) " \
  "FROM dothi_actions a "

static Action *
action_from_row (sqlite3_stmt *stmt)
{
  Action *a = g_new0 (Action, 1);
  g_autoptr(JsonNode) registry = NULL;

  a->id = sqlite3_column_int64 (stmt, 0);
  a->label = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  a->inverse = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  a->undo_of = sqlite3_column_int64 (stmt, 3);
  a->undone = sqlite3_column_int (stmt, 4);
  a->has_rows = sqlite3_column_int (stmt, 5);
  a->import_layer = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
  a->has_import = a->import_layer != NULL;
  a->kind = kind_from_inverse (a->inverse, &registry);
  /* An action with neither rows nor a registry journal (one Dothi keeps
   * no inverse for) has nothing to compensate. */
  if (registry != NULL)
    a->has_rows = TRUE;
  {
    g_autoptr(JsonArray) schema = schema_from_inverse (a->inverse);

    if (schema != NULL)
      a->has_rows = TRUE;
  }
  return a;
}

static Action *
load_action (DothiProject *project, gint64 id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (!prepare_sql (project, ACTION_SELECT "WHERE a.id = ?1", &stmt, error))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return action_from_row (stmt);
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: an action number, project file */
               _("There is no action %lld in “%s”"), (long long) id, dothi_project_get_path (project));
  return NULL;
}

/* The action undo would compensate: the newest one that is neither an
 * undo nor undone, and has something to compensate. NULL with no error
 * when there is none. */
static Action *
find_undo_target (DothiProject *project, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!prepare_sql (project, ACTION_SELECT "ORDER BY a.id DESC", &stmt, error))
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(Action) a = action_from_row (stmt);

      if (a->kind == KIND_UNDO || a->undone || !a->has_rows)
        continue;
      return g_steal_pointer (&a);
    }
  if (rc != SQLITE_DONE)
    set_read_error (project, error);
  return NULL;
}

/* The undo redo would compensate: the newest undo not yet redone, unless
 * a normal action came after it (a new action clears redo). */
static Action *
find_redo_target (DothiProject *project, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!prepare_sql (project, ACTION_SELECT "ORDER BY a.id DESC", &stmt, error))
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(Action) a = action_from_row (stmt);

      if (a->kind == KIND_UNDO)
        {
          if (a->undone)
            continue;
          return g_steal_pointer (&a);
        }
      if (a->kind == KIND_REDO || !a->has_rows)
        continue;
      return NULL;
    }
  if (rc != SQLITE_DONE)
    set_read_error (project, error);
  return NULL;
}

/* The label of what @a does for people: an undo or redo is named after
 * the action it finally concerns. */
static char *
dup_root_label (DothiProject *project, const Action *a)
{
  g_autoptr(Action) cur = NULL;
  gint64 next;

  if (a->kind != KIND_UNDO && a->kind != KIND_REDO)
    return g_strdup (a->label);
  next = a->undo_of;
  for (int depth = 0; next > 0 && depth < 10000; depth++)
    {
      g_clear_pointer (&cur, action_free);
      cur = load_action (project, next, NULL);
      if (cur == NULL)
        break;
      if (cur->kind != KIND_UNDO && cur->kind != KIND_REDO)
        return g_strdup (cur->label);
      next = cur->undo_of;
    }
  return g_strdup (a->label);
}

char *
dothi_edit_dup_undo_label (DothiProject *project)
{
  g_autoptr(Action) a = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  a = find_undo_target (project, NULL);
  if (a == NULL)
    return NULL;
  return dup_root_label (project, a);
}

char *
dothi_edit_dup_redo_label (DothiProject *project)
{
  g_autoptr(Action) a = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  a = find_redo_target (project, NULL);
  if (a == NULL)
    return NULL;
  return dup_root_label (project, a);
}

/* ---- compensating an action ---------------------------------------------- */

typedef struct {
  gint64  audit_id;
  char   *layer;
  gint64  fid;
  char   *op;
  char   *before_attrs;
  char   *after_attrs;
  GBytes *before_geom;
  GBytes *after_geom;
} AuditRow;

static void
audit_row_free (AuditRow *r)
{
  g_free (r->layer);
  g_free (r->op);
  g_free (r->before_attrs);
  g_free (r->after_attrs);
  g_clear_pointer (&r->before_geom, g_bytes_unref);
  g_clear_pointer (&r->after_geom, g_bytes_unref);
  g_free (r);
}

static GBytes *
column_bytes (sqlite3_stmt *stmt, int c)
{
  if (sqlite3_column_type (stmt, c) != SQLITE_BLOB)
    return NULL;
  return g_bytes_new (sqlite3_column_blob (stmt, c), sqlite3_column_bytes (stmt, c));
}

/* Newest first, the order in which they are compensated. */
static GPtrArray *
load_audit_rows (DothiProject *project, gint64 action_id, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) audit_row_free);
  int rc;

  if (!prepare_sql (project,
                    "SELECT id, layer, fid, op, before_attrs, after_attrs, before_geom, after_geom "
                    "FROM dothi_audit WHERE action_id = ?1 ORDER BY id DESC", &stmt, error))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, action_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      AuditRow *r = g_new0 (AuditRow, 1);

      r->audit_id = sqlite3_column_int64 (stmt, 0);
      r->layer = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      r->fid = sqlite3_column_int64 (stmt, 2);
      r->op = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      r->before_attrs = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      r->after_attrs = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      r->before_geom = column_bytes (stmt, 6);
      r->after_geom = column_bytes (stmt, 7);
      g_ptr_array_add (rows, r);
    }
  if (rc != SQLITE_DONE)
    {
      set_read_error (project, error);
      return NULL;
    }
  return g_steal_pointer (&rows);
}

typedef struct {
  DothiLayerInfo *info;
  GPtrArray      *columns;    /* char*, as the audit images hold them */
  GArray         *is_blob;    /* gboolean */
  gboolean        has_geom;
  sqlite3_stmt   *current;    /* image and geometry of fid ?1 */
  sqlite3_stmt   *insert;
  sqlite3_stmt   *update;
  /* The attributes alone, from the before-image's JSON text (?2): a
   * geometry the action left alone is not written again, which spares the
   * R-tree and SpatiaLite's geometry triggers. NULL for layers with BLOB
   * attributes (hex in the image; SQLite 3.40 has no unhex()). */
  sqlite3_stmt   *update_attrs;
  sqlite3_stmt   *delete;
  gint64          count_delta;
} UndoLayer;

static void
undo_layer_free (UndoLayer *ul)
{
  dothi_layer_info_free (ul->info);
  g_clear_pointer (&ul->columns, g_ptr_array_unref);
  g_clear_pointer (&ul->is_blob, g_array_unref);
  sqlite3_finalize (ul->current);
  sqlite3_finalize (ul->insert);
  sqlite3_finalize (ul->update);
  sqlite3_finalize (ul->update_attrs);
  sqlite3_finalize (ul->delete);
  g_free (ul);
}

typedef struct {
  DothiProject *project;
  ActionKind    kind;
  const char   *label;       /* of the compensated action */
  GHashTable   *layers;      /* name → UndoLayer* */
  JsonArray    *steps;       /* the schema steps the compensation did */
} Compensation;

static gboolean
set_conflict (Compensation *comp, gint64 fid, const char *title, GError **error)
{
  const char *format;

  switch (comp->kind)
    {
    case KIND_REDO:
      /* Translators: an action's label, feature id, layer title */
      format = _("Cannot redo “%s”: feature %lld of layer “%s” has changed since");
      break;
    case KIND_REVERT:
      /* Translators: an action's label, feature id, layer title */
      format = _("Cannot revert “%s”: feature %lld of layer “%s” has changed since");
      break;
    case KIND_UNDO:
    case KIND_DO:
    default:
      /* Translators: an action's label, feature id, layer title */
      format = _("Cannot undo “%s”: feature %lld of layer “%s” has changed since");
      break;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT, format, comp->label, (long long) fid, title);
  return FALSE;
}

static gboolean
set_layer_gone (Compensation *comp, const char *layer, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
               /* Translators: an action's label, a layer, project file */
               _("“%s” cannot be compensated: layer “%s” is no longer in “%s”"),
               comp->label, layer, dothi_project_get_path (comp->project));
  return FALSE;
}

static UndoLayer *
get_undo_layer (Compensation *comp, const char *name, GError **error)
{
  DothiProject *project = comp->project;
  UndoLayer *ul = g_hash_table_lookup (comp->layers, name);
  g_autofree char *image = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(GString) cols = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new (NULL);
  g_autoptr(GString) sets = g_string_new (NULL);
  DothiLayerInfo *info;
  guint n;

  if (ul != NULL)
    return ul;
  info = dothi_project_get_layer (project, name, NULL);
  if (info == NULL)
    {
      set_layer_gone (comp, name, error);
      return NULL;
    }
  ul = g_new0 (UndoLayer, 1);
  ul->info = info;
  g_hash_table_insert (comp->layers, info->name, ul);
  if (!dothi_spatialite_store_get_image_columns (project_store (project), name, &ul->columns,
                                                 &ul->is_blob, &image, &ul->has_geom, error))
    return NULL;

  /* The same json_object() expression the triggers write, so equal rows
   * give equal text. */
  sql = sqlite3_mprintf ("SELECT %s, %s FROM \"%w\" AS t WHERE t.fid = ?1",
                         image, ul->has_geom ? "t.geom" : "NULL", name);
  if (!prepare_sql (project, sql, &ul->current, error))
    return NULL;

  n = ul->columns->len;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DothiSqlStr) c = sqlite3_mprintf (", \"%w\"", (char *) ul->columns->pdata[i]);
      g_autoptr(DothiSqlStr) s = sqlite3_mprintf ("%s\"%w\" = ?%u", i ? ", " : "",
                                                  (char *) ul->columns->pdata[i], i + 2);
      g_string_append (cols, c);
      g_string_append_printf (params, ", ?%u", i + 2);
      g_string_append (sets, s);
    }
  if (ul->has_geom)
    {
      g_string_append (cols, ", geom");
      g_string_append_printf (params, ", ?%u", n + 2);
      g_string_append_printf (sets, "%sgeom = ?%u", n ? ", " : "", n + 2);
    }
  /* ?1 is the fid in each. Plain INSERT, UPDATE and DELETE: the audit
   * triggers record the compensation like any edit. */
  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("INSERT INTO \"%w\" (fid%s) VALUES (?1%s)", name, cols->str, params->str);
  if (!prepare_sql (project, sql, &ul->insert, error))
    return NULL;
  if (sets->len > 0)
    {
      g_clear_pointer (&sql, sqlite3_free);
      sql = sqlite3_mprintf ("UPDATE \"%w\" SET %s WHERE fid = ?1", name, sets->str);
      if (!prepare_sql (project, sql, &ul->update, error))
        return NULL;
    }
  {
    gboolean any_blob = FALSE;
    g_autoptr(GString) from_json = g_string_new (NULL);

    for (guint i = 0; i < n; i++)
      {
        g_autoptr(DothiSqlStr) set = NULL;

        any_blob |= g_array_index (ul->is_blob, gboolean, i);
        /* The JSON path is bound, not pasted: ?3.. hold them. */
        set = sqlite3_mprintf ("%s\"%w\" = json_extract(?2, ?%u)", i ? ", " : "",
                               (char *) ul->columns->pdata[i], i + 3);
        g_string_append (from_json, set);
      }
    if (!any_blob && n > 0)
      {
        g_clear_pointer (&sql, sqlite3_free);
        sql = sqlite3_mprintf ("UPDATE \"%w\" SET %s WHERE fid = ?1", name, from_json->str);
        if (!prepare_sql (project, sql, &ul->update_attrs, error))
          return NULL;
        for (guint i = 0; i < n; i++)
          {
            /* Paths stay bound for the statement's life. */
            char *path = sqlite3_mprintf ("$.\"%w\"", (char *) ul->columns->pdata[i]);

            sqlite3_bind_text (ul->update_attrs, (int) i + 3, path, -1, sqlite3_free);
          }
      }
  }
  g_clear_pointer (&sql, sqlite3_free);
  sql = sqlite3_mprintf ("DELETE FROM \"%w\" WHERE fid = ?1", name);
  if (!prepare_sql (project, sql, &ul->delete, error))
    return NULL;
  return ul;
}

/* Binds the image @attrs (JSON text from a trigger) and @geom to
 * ?2.. of @stmt in the layer's column order. */
static gboolean
bind_image (Compensation *comp, UndoLayer *ul, sqlite3_stmt *stmt, const char *attrs,
            GBytes *geom, gint64 fid, GError **error)
{
  g_autoptr(JsonNode) root = attrs ? json_from_string (attrs, NULL) : NULL;
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  guint n = ul->columns->len;

  if (obj == NULL)
    return set_conflict (comp, fid, layer_title (ul->info), error);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  sqlite3_bind_int64 (stmt, 1, fid);
  for (guint i = 0; i < n; i++)
    {
      const char *col = ul->columns->pdata[i];
      JsonNode *node = json_object_get_member (obj, col);
      int p = (int) i + 2;
      GType vt;

      if (node == NULL || JSON_NODE_HOLDS_NULL (node) || !JSON_NODE_HOLDS_VALUE (node))
        {
          sqlite3_bind_null (stmt, p);
          continue;
        }
      vt = json_node_get_value_type (node);
      if (g_array_index (ul->is_blob, gboolean, i) && vt == G_TYPE_STRING)
        {
          g_autoptr(GBytes) bytes = decode_hex (json_node_get_string (node));
          gsize len = 0;
          const void *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;

          if (bytes == NULL)
            return set_conflict (comp, fid, layer_title (ul->info), error);
          sqlite3_bind_blob64 (stmt, p, data ? data : "", len, SQLITE_TRANSIENT);
        }
      else if (vt == G_TYPE_INT64)
        sqlite3_bind_int64 (stmt, p, json_node_get_int (node));
      else if (vt == G_TYPE_DOUBLE)
        sqlite3_bind_double (stmt, p, json_node_get_double (node));
      else if (vt == G_TYPE_BOOLEAN)
        sqlite3_bind_int (stmt, p, json_node_get_boolean (node));
      else
        sqlite3_bind_text (stmt, p, json_node_get_string (node), -1, SQLITE_TRANSIENT);
    }
  if (ul->has_geom)
    {
      gsize len = 0;
      const void *data = geom ? g_bytes_get_data (geom, &len) : NULL;

      if (data != NULL)
        sqlite3_bind_blob (stmt, (int) n + 2, data, (int) len, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (stmt, (int) n + 2);
    }
  return TRUE;
}

static gboolean
run_write (Compensation *comp, UndoLayer *ul, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_write_error (comp->project, ul->info->name, error);
  return TRUE;
}

/* The action left the geometry as it was. */
static gboolean
geometry_unchanged (AuditRow *row)
{
  gsize before_len = 0, after_len = 0;
  const void *before = row->before_geom ? g_bytes_get_data (row->before_geom, &before_len) : NULL;
  const void *after = row->after_geom ? g_bytes_get_data (row->after_geom, &after_len) : NULL;

  return bytes_equal (before, before_len, after, after_len);
}

/* ---- compensating schema steps ------------------------------------------ */

static gint64
audit_mark (DothiProject *project)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (project_db (project), "SELECT COALESCE(max(id), 0) FROM dothi_audit",
                          -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_step (stmt) != SQLITE_ROW)
    return G_MAXINT64;
  return sqlite3_column_int64 (stmt, 0);
}

static gboolean
set_layer_edited (Compensation *comp, const char *title, GError **error)
{
  const char *format;

  switch (comp->kind)
    {
    case KIND_REDO:
      /* Translators: an action's label, layer title */
      format = _("Cannot redo “%s”: layer “%s” has been edited since");
      break;
    case KIND_REVERT:
      /* Translators: an action's label, layer title */
      format = _("Cannot revert “%s”: layer “%s” has been edited since");
      break;
    default:
      /* Translators: an action's label, layer title */
      format = _("Cannot undo “%s”: layer “%s” has been edited since");
      break;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT, format, comp->label, title);
  return FALSE;
}

/* The layer's rows are as they were when audit row @mark was written:
 * each feature touched since equals the before-image of its first change
 * after @mark (or is absent, when that change inserted it). Edits undone
 * since leave a layer unchanged. */
static gboolean
check_layer_unchanged (Compensation *comp, const char *layer, gint64 mark, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  UndoLayer *ul;
  int rc;

  ul = get_undo_layer (comp, layer, error);
  if (ul == NULL)
    return FALSE;
  if (!prepare_sql (comp->project,
                    "SELECT a.fid, a.op, a.before_attrs, a.before_geom FROM dothi_audit a "
                    "WHERE a.layer = ?1 AND a.id > ?2 AND a.fid IS NOT NULL AND a.id = "
                    "(SELECT min(b.id) FROM dothi_audit b WHERE b.layer = ?1 AND b.fid = a.fid AND b.id > ?2)",
                    &stmt, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, mark);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      gboolean inserted = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1), "insert") == 0;
      const char *before = (const char *) sqlite3_column_text (stmt, 2);
      const void *geom = sqlite3_column_type (stmt, 3) == SQLITE_BLOB ? sqlite3_column_blob (stmt, 3) : NULL;
      gsize geom_len = geom ? (gsize) sqlite3_column_bytes (stmt, 3) : 0;
      sqlite3_stmt *cur = ul->current;
      gboolean same;

      sqlite3_reset (cur);
      sqlite3_bind_int64 (cur, 1, fid);
      switch (sqlite3_step (cur))
        {
        case SQLITE_ROW:
          {
            const void *blob = sqlite3_column_type (cur, 1) == SQLITE_BLOB ? sqlite3_column_blob (cur, 1) : NULL;
            gsize blob_len = blob ? (gsize) sqlite3_column_bytes (cur, 1) : 0;

            same = !inserted && before != NULL
                   && g_strcmp0 ((const char *) sqlite3_column_text (cur, 0), before) == 0
                   && bytes_equal (blob, blob_len, geom, geom_len);
          }
          break;
        case SQLITE_DONE:
          same = inserted;
          break;
        default:
          sqlite3_reset (cur);
          return set_read_error (comp->project, error);
        }
      sqlite3_reset (cur);
      if (!same)
        return set_layer_edited (comp, layer_title (ul->info), error);
    }
  if (rc != SQLITE_DONE)
    return set_read_error (comp->project, error);
  return TRUE;
}

static void
add_step (Compensation *comp, JsonObject *step)
{
  json_array_add_object_element (comp->steps, step);
}

/* Field rules back to their before-image, where they still equal the
 * after-image (dothi-domain.c journals them as a "set_domain" step). */
static gboolean
domain_step (Compensation *comp, JsonObject *done, GError **error)
{
  const char *layer = json_object_get_string_member_with_default (done, "layer", NULL);
  const char *field = json_object_get_string_member_with_default (done, "field", NULL);
  JsonNode *before = json_object_get_member (done, "before");
  JsonNode *after = json_object_get_member (done, "after");
  g_autoptr(GHashTable) domains = NULL;
  g_autoptr(DothiDomain) restore = NULL;
  g_autofree char *now = NULL;
  g_autofree char *expected = NULL;
  JsonObject *step;

  if (layer == NULL || field == NULL)
    return set_layer_gone (comp, layer ? layer : "?", error);
  domains = dothi_domain_get_all (comp->project, layer, error);
  if (domains == NULL)
    return FALSE;
  now = dothi_domain_dup_json (g_hash_table_lookup (domains, field));
  {
    g_autoptr(DothiDomain) was = dothi_domain_new_from_json_node (after);

    expected = dothi_domain_dup_json (was);
  }
  if (g_strcmp0 (now, expected) != 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                   /* Translators: an action's label, a field, a layer */
                   _("“%s” cannot be compensated: the rules of field “%s” in “%s” changed since"),
                   comp->label, field, layer);
      return FALSE;
    }
  restore = dothi_domain_new_from_json_node (before);
  if (!dothi_domain_write (comp->project, layer, field, restore, error))
    return FALSE;

  step = json_object_new ();
  json_object_set_string_member (step, "op", "set_domain");
  json_object_set_string_member (step, "layer", layer);
  json_object_set_string_member (step, "field", field);
  json_object_set_member (step, "before", after ? json_node_copy (after) : json_node_new (JSON_NODE_NULL));
  json_object_set_member (step, "after", before ? json_node_copy (before) : json_node_new (JSON_NODE_NULL));
  add_step (comp, step);
  return TRUE;
}

/* Moves layer @layer, unchanged since audit row @mark, out of sight into
 * a hidden table (undo of an import). */
static gboolean
hide_layer_step (Compensation *comp, const char *layer, gint64 mark, GError **error)
{
  DothiSpatialiteStore *store = project_store (comp->project);
  g_autofree char *registry = NULL;
  g_autofree char *trash = NULL;
  g_autoptr(JsonNode) reg = NULL;
  JsonObject *step;

  if (!dothi_store_has_table (dothi_project_get_store (comp->project), layer)
      || !check_layer_unchanged (comp, layer, mark, error))
    {
      if (error != NULL && *error == NULL)
        set_layer_gone (comp, layer, error);
      return FALSE;
    }
  /* Its statements go before the table is renamed. */
  g_hash_table_remove (comp->layers, layer);
  registry = dothi_spatialite_store_dup_registry (store, layer, error);
  if (registry == NULL)
    return FALSE;
  trash = g_strdup_printf ("dothi_trash_%" G_GINT64_FORMAT "_%s",
                           dothi_spatialite_store_get_action_id (store), layer);
  if (!dothi_spatialite_store_hide_layer (store, layer, trash, error))
    return FALSE;
  reg = json_from_string (registry, NULL);
  step = json_object_new ();
  json_object_set_string_member (step, "op", "hide_layer");
  json_object_set_string_member (step, "layer", layer);
  json_object_set_string_member (step, "trash", trash);
  json_object_set_member (step, "registry", g_steal_pointer (&reg));
  add_step (comp, step);
  return TRUE;
}

/* Brings back the layer a hide_layer step put out of sight. */
static gboolean
unhide_layer_step (Compensation *comp, JsonObject *done, GError **error)
{
  DothiSpatialiteStore *store = project_store (comp->project);
  const char *layer = json_object_get_string_member_with_default (done, "layer", NULL);
  const char *trash = json_object_get_string_member_with_default (done, "trash", NULL);
  JsonNode *reg = json_object_get_member (done, "registry");
  g_autofree char *registry = NULL;
  JsonObject *step;

  if (layer == NULL || trash == NULL || reg == NULL || !dothi_spatialite_store_table_exists (store, trash))
    return set_layer_gone (comp, layer ? layer : "?", error);
  if (dothi_store_has_table (dothi_project_get_store (comp->project), layer))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                   /* Translators: an action's label, a layer table name */
                   _("“%s” cannot be compensated: there is another layer named “%s” now"),
                   comp->label, layer);
      return FALSE;
    }
  registry = json_to_string (reg, FALSE);
  if (!dothi_spatialite_store_unhide_layer (store, trash, layer, registry, error))
    return FALSE;
  step = json_object_new ();
  json_object_set_string_member (step, "op", "unhide_layer");
  json_object_set_string_member (step, "layer", layer);
  /* Edits after this are what a later hide must not lose. */
  json_object_set_int_member (step, "mark", audit_mark (comp->project));
  add_step (comp, step);
  return TRUE;
}

static JsonObject *
field_step (const char *op, const char *layer, const char *field, const char *type, const char *trash)
{
  JsonObject *step = json_object_new ();

  json_object_set_string_member (step, "op", op);
  json_object_set_string_member (step, "layer", layer);
  json_object_set_string_member (step, "field", field);
  json_object_set_string_member (step, "type", type);
  if (trash != NULL)
    json_object_set_string_member (step, "trash", trash);
  else
    json_object_set_null_member (step, "trash");
  return step;
}

/* Undoes one schema step @done of the compensated action and records
 * what was done instead in comp->steps. */
static gboolean
compensate_step (Compensation *comp, JsonObject *done, GError **error)
{
  DothiSpatialiteStore *store = project_store (comp->project);
  const char *op = done ? json_object_get_string_member_with_default (done, "op", "") : "";
  const char *layer = done ? json_object_get_string_member_with_default (done, "layer", NULL) : NULL;
  const char *field = done ? json_object_get_string_member_with_default (done, "field", NULL) : NULL;
  const char *type = done ? json_object_get_string_member_with_default (done, "type", "text") : "text";
  const char *trash = done ? json_object_get_string_member_with_default (done, "trash", NULL) : NULL;
  g_autoptr(DothiLayerInfo) info = NULL;

  if (g_str_equal (op, "set_domain"))
    return domain_step (comp, done, error);
  if (g_str_equal (op, "hide_layer"))
    return unhide_layer_step (comp, done, error);
  if (g_str_equal (op, "unhide_layer") && layer != NULL)
    return hide_layer_step (comp, layer, json_object_get_int_member_with_default (done, "mark", 0), error);
  if (!g_str_equal (op, "add_field") && !g_str_equal (op, "remove_field"))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   _("“%s” cannot be compensated: unknown change “%s” in its history"),
                   comp->label, op);
      return FALSE;
    }
  if (layer == NULL || field == NULL)
    return set_layer_gone (comp, layer ? layer : "?", error);
  info = dothi_project_get_layer (comp->project, layer, NULL);
  if (info == NULL)
    return set_layer_gone (comp, layer, error);
  /* Statements on the table go before its schema changes. */
  g_hash_table_remove (comp->layers, layer);

  if (g_str_equal (op, "add_field") && json_object_get_boolean_member_with_default (done, "restored", FALSE))
    {
      g_autofree char *kept = NULL;

      if (dothi_layer_info_find_field (info, field) < 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                       _("“%s” cannot be compensated: field “%s” is no longer in layer “%s”"),
                       comp->label, field, layer_title (info));
          return FALSE;
        }
      kept = g_strdup_printf ("dothi_trash_%" G_GINT64_FORMAT "_%s_%s",
                              dothi_spatialite_store_get_action_id (store), layer, field);
      if (!dothi_spatialite_store_remove_field (store, layer, field, kept, error))
        return FALSE;
      add_step (comp, field_step ("remove_field", layer, field, type, kept));
      return TRUE;
    }
  if (g_str_equal (op, "add_field"))
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;
      g_autoptr(DothiSqlStr) sql = NULL;

      if (dothi_layer_info_find_field (info, field) < 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                       /* Translators: an action's label, field, layer title */
                       _("“%s” cannot be compensated: field “%s” is no longer in layer “%s”"),
                       comp->label, field, layer_title (info));
          return FALSE;
        }
      /* The field is checked against the layer's columns before it is quoted. */
      sql = sqlite3_mprintf ("SELECT EXISTS (SELECT 1 FROM \"%w\" WHERE \"%w\" IS NOT NULL)", layer, field);
      if (!prepare_sql (comp->project, sql, &stmt, error))
        return FALSE;
      if (sqlite3_step (stmt) != SQLITE_ROW)
        return set_read_error (comp->project, error);
      if (sqlite3_column_int (stmt, 0))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                       /* Translators: an action's label, field, layer title */
                       _("“%s” cannot be compensated: field “%s” of layer “%s” has values now; "
                         "clear them or remove the field"),
                       comp->label, field, layer_title (info));
          return FALSE;
        }
      g_clear_pointer (&stmt, sqlite3_finalize);
      if (!dothi_spatialite_store_remove_field (store, layer, field, NULL, error))
        return FALSE;
      add_step (comp, field_step ("remove_field", layer, field, type, NULL));
      return TRUE;
    }

  if (dothi_spatialite_store_has_column (store, layer, field))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                   /* Translators: an action's label, layer title, field */
                   _("“%s” cannot be compensated: layer “%s” has a field “%s” again"),
                   comp->label, layer_title (info), field);
      return FALSE;
    }
  if (trash != NULL && !dothi_spatialite_store_table_exists (store, trash))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT,
                   /* Translators: an action's label, field, layer title */
                   _("“%s” cannot be compensated: the values of field “%s” of layer “%s” are no longer in the project"),
                   comp->label, field, layer_title (info));
      return FALSE;
    }
  if (!dothi_spatialite_store_restore_field (store, layer, field, dothi_field_type_from_string (type),
                                             trash, error))
    return FALSE;
  {
    /* Added back with values: compensated in turn by removing it with
     * them, not by the check that a new field is still empty. */
    JsonObject *step = field_step ("add_field", layer, field, type, NULL);

    if (trash != NULL)
      json_object_set_boolean_member (step, "restored", TRUE);
    add_step (comp, step);
  }
  return TRUE;
}

/* Applies the before-image of @row where the row still equals its
 * after-image. */
static gboolean
compensate_row (Compensation *comp, AuditRow *row, GError **error)
{
  UndoLayer *ul;
  gboolean exists, same = FALSE;
  sqlite3_stmt *cur;

  if (g_strcmp0 (row->op, "import") == 0)
    return hide_layer_step (comp, row->layer, row->audit_id, error);
  ul = get_undo_layer (comp, row->layer, error);
  if (ul == NULL)
    return FALSE;

  cur = ul->current;
  sqlite3_reset (cur);
  sqlite3_bind_int64 (cur, 1, row->fid);
  switch (sqlite3_step (cur))
    {
    case SQLITE_ROW:
      exists = TRUE;
      if (row->after_attrs != NULL
          && g_strcmp0 ((const char *) sqlite3_column_text (cur, 0), row->after_attrs) == 0)
        {
          const void *blob = sqlite3_column_type (cur, 1) == SQLITE_BLOB ? sqlite3_column_blob (cur, 1) : NULL;
          gsize blob_len = blob ? (gsize) sqlite3_column_bytes (cur, 1) : 0;
          gsize after_len = 0;
          const void *after = row->after_geom ? g_bytes_get_data (row->after_geom, &after_len) : NULL;

          same = bytes_equal (blob, blob_len, after, after_len);
        }
      break;
    case SQLITE_DONE:
      exists = FALSE;
      break;
    default:
      sqlite3_reset (cur);
      return set_read_error (comp->project, error);
    }
  sqlite3_reset (cur);

  if (g_strcmp0 (row->op, "insert") == 0)
    {
      if (!exists || !same)
        return set_conflict (comp, row->fid, layer_title (ul->info), error);
      sqlite3_reset (ul->delete);
      sqlite3_bind_int64 (ul->delete, 1, row->fid);
      if (!run_write (comp, ul, ul->delete, error))
        return FALSE;
      ul->count_delta--;
      return TRUE;
    }
  if (g_strcmp0 (row->op, "update") == 0)
    {
      if (!exists || !same)
        return set_conflict (comp, row->fid, layer_title (ul->info), error);
      if (ul->update == NULL)
        return TRUE;  /* a table of fid alone */
      if (ul->update_attrs != NULL && row->before_attrs != NULL
          && geometry_unchanged (row))
        {
          /* Only ?1 and ?2 change; the paths (?3..) stay bound. */
          sqlite3_reset (ul->update_attrs);
          sqlite3_bind_int64 (ul->update_attrs, 1, row->fid);
          sqlite3_bind_text (ul->update_attrs, 2, row->before_attrs, -1, SQLITE_STATIC);
          return run_write (comp, ul, ul->update_attrs, error);
        }
      return bind_image (comp, ul, ul->update, row->before_attrs, row->before_geom, row->fid, error)
             && run_write (comp, ul, ul->update, error);
    }
  if (g_strcmp0 (row->op, "delete") == 0)
    {
      if (exists)
        return set_conflict (comp, row->fid, layer_title (ul->info), error);
      if (!bind_image (comp, ul, ul->insert, row->before_attrs, row->before_geom, row->fid, error)
          || !run_write (comp, ul, ul->insert, error))
        return FALSE;
      ul->count_delta++;
      return TRUE;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
               /* Translators: an action's label, an audit operation name */
               _("“%s” cannot be compensated: unknown change “%s” in its history"),
               comp->label, row->op);
  return FALSE;
}

/* Restores the registry rows of a registry action's journal: each column
 * that the action changed goes back to its before value, where the row
 * still has the after value. */
static gboolean
compensate_registry (Compensation *comp, JsonNode *registry, GError **error)
{
  DothiStore *store = dothi_project_get_store (comp->project);
  JsonObject *reg = JSON_NODE_HOLDS_OBJECT (registry) ? json_node_get_object (registry) : NULL;
  JsonArray *before, *after;

  if (reg == NULL || !json_object_has_member (reg, "before") || !json_object_has_member (reg, "after"))
    return TRUE;
  before = json_object_get_array_member (reg, "before");
  after = json_object_get_array_member (reg, "after");
  for (guint i = 0; i < json_array_get_length (after) && i < json_array_get_length (before); i++)
    {
      JsonObject *b = json_array_get_object_element (before, i);
      JsonObject *a = json_array_get_object_element (after, i);
      const char *name = json_object_get_string_member_with_default (a, "name", NULL);
      g_autoptr(DothiLayerInfo) cur = NULL;
      gboolean conflict = FALSE;
      const char *bs, *as;

      if (name == NULL)
        continue;
      cur = dothi_store_get_layer (store, name, NULL);
      if (cur == NULL)
        return set_layer_gone (comp, name, error);

#define CHANGED(m) (!json_node_equal (json_object_get_member (a, m), json_object_get_member (b, m)))
      if (CHANGED ("title"))
        {
          as = json_object_get_string_member_with_default (a, "title", NULL);
          bs = json_object_get_string_member_with_default (b, "title", NULL);
          conflict |= g_strcmp0 (cur->title, as) != 0;
          g_free (cur->title);
          cur->title = g_strdup (bs);
        }
      if (CHANGED ("z_order"))
        {
          conflict |= cur->z_order != json_object_get_int_member (a, "z_order");
          cur->z_order = (int) json_object_get_int_member (b, "z_order");
        }
      if (CHANGED ("visible"))
        {
          conflict |= !cur->visible != !json_object_get_boolean_member (a, "visible");
          cur->visible = json_object_get_boolean_member (b, "visible");
        }
      if (CHANGED ("opacity"))
        {
          conflict |= fabs (cur->opacity - json_object_get_double_member (a, "opacity")) > 1e-6;
          cur->opacity = json_object_get_double_member (b, "opacity");
        }
      if (CHANGED ("style"))
        {
          as = json_object_get_string_member_with_default (a, "style", NULL);
          bs = json_object_get_string_member_with_default (b, "style", NULL);
          conflict |= g_strcmp0 (cur->style, as) != 0;
          g_free (cur->style);
          cur->style = g_strdup (bs);
        }
#undef CHANGED
      if (conflict)
        {
          const char *format;

          switch (comp->kind)
            {
            case KIND_REDO:
              /* Translators: an action's label, layer title */
              format = _("Cannot redo “%s”: the display settings of layer “%s” have changed since");
              break;
            case KIND_REVERT:
              /* Translators: an action's label, layer title */
              format = _("Cannot revert “%s”: the display settings of layer “%s” have changed since");
              break;
            default:
              /* Translators: an action's label, layer title */
              format = _("Cannot undo “%s”: the display settings of layer “%s” have changed since");
              break;
            }
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CONFLICT, format, comp->label, layer_title (cur));
          return FALSE;
        }
      if (!dothi_store_update_layer (store, cur, error))
        return FALSE;
    }
  return TRUE;
}

/* The journal of the compensation: its kind, and the registry change with
 * before and after swapped, so it can be compensated in turn. */
static JsonNode *
swap_registry (JsonNode *registry)
{
  JsonObject *reg;
  JsonObject *swapped;
  JsonNode *node;

  if (registry == NULL || !JSON_NODE_HOLDS_OBJECT (registry))
    return NULL;
  reg = json_node_get_object (registry);
  swapped = json_object_new ();
  if (json_object_has_member (reg, "after"))
    json_object_set_member (swapped, "before", json_node_copy (json_object_get_member (reg, "after")));
  if (json_object_has_member (reg, "before"))
    json_object_set_member (swapped, "after", json_node_copy (json_object_get_member (reg, "before")));
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, swapped);
  return node;
}

static gint64
compensate (DothiProject *project, Action *target, ActionKind kind, const char *label,
            GCancellable *cancellable, GError **error)
{
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GHashTable) layers = NULL;
  g_autoptr(JsonNode) registry = NULL;
  g_autoptr(JsonNode) swapped = NULL;
  g_autoptr(JsonArray) schema = NULL;
  g_autoptr(JsonArray) steps = NULL;
  g_autofree char *journal = NULL;
  g_autofree char *root_label = dup_root_label (project, target);
  Compensation comp = { project, kind, root_label, NULL, NULL };
  GHashTableIter iter;
  UndoLayer *ul;
  gint64 action_id = 0;

  if (!check_writable (project, error))
    return 0;
  kind_from_inverse (target->inverse, &registry);
  rows = load_audit_rows (project, target->id, error);
  if (rows == NULL)
    return 0;
  schema = schema_from_inverse (target->inverse);
  swapped = swap_registry (registry);
  steps = json_array_new ();

  layers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) undo_layer_free);
  comp.layers = layers;
  comp.steps = steps;
  if (!dothi_store_begin (store, label, error))
    return 0;
  for (guint i = 0; i < rows->len; i++)
    {
      if (i % BATCH == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        goto rollback;
      if (!compensate_row (&comp, g_ptr_array_index (rows, i), error))
        goto rollback;
    }
  /* Schema steps are undone newest first. */
  for (guint i = schema ? json_array_get_length (schema) : 0; i > 0; i--)
    if (!compensate_step (&comp, json_array_get_object_element (schema, i - 1), error))
      goto rollback;
  if (registry != NULL && !compensate_registry (&comp, registry, error))
    goto rollback;
  g_hash_table_iter_init (&iter, layers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &ul))
    if (!update_registry_counts (project, ul->info->name, ul->count_delta, NULL, error))
      goto rollback;
  action_id = dothi_spatialite_store_get_action_id (project_store (project));
  journal = kind_journal (kind, swapped, steps);
  if (!dothi_spatialite_store_set_action_journal (project_store (project), target->id, journal, error))
    goto rollback;
  g_clear_pointer (&layers, g_hash_table_unref);
  if (!dothi_store_commit (store, error))
    goto rollback;
  return action_id;

rollback:
  g_clear_pointer (&layers, g_hash_table_unref);
  dothi_store_rollback (store);
  return 0;
}

gint64
dothi_edit_undo_sync (DothiProject *project, GCancellable *cancellable, GError **error)
{
  g_autoptr(Action) target = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  if (!check_writable (project, error))
    return 0;
  target = find_undo_target (project, &local_error);
  if (target == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING,
                     /* Translators: project file */
                     _("Nothing to undo in “%s”"), dothi_project_get_path (project));
      return 0;
    }
  root = dup_root_label (project, target);
  /* Translators: the label of an undo in the history; %s is the label of
   * the action undone */
  label = g_strdup_printf (_("Undo: %s"), root);
  return compensate (project, target, KIND_UNDO, label, cancellable, error);
}

gint64
dothi_edit_redo_sync (DothiProject *project, GCancellable *cancellable, GError **error)
{
  g_autoptr(Action) target = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  if (!check_writable (project, error))
    return 0;
  target = find_redo_target (project, &local_error);
  if (target == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING,
                     /* Translators: project file */
                     _("Nothing to redo in “%s”"), dothi_project_get_path (project));
      return 0;
    }
  root = dup_root_label (project, target);
  /* Translators: the label of a redo in the history; %s is the label of
   * the action done again */
  label = g_strdup_printf (_("Redo: %s"), root);
  return compensate (project, target, KIND_REDO, label, cancellable, error);
}

gint64
dothi_edit_revert_sync (DothiProject *project, gint64 action_id, GCancellable *cancellable,
                        GError **error)
{
  g_autoptr(Action) target = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  if (!check_writable (project, error))
    return 0;
  target = load_action (project, action_id, error);
  if (target == NULL)
    return 0;
  if (target->undone)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING,
                   /* Translators: an action number and its label */
                   _("Action %lld (“%s”) has already been undone"), (long long) action_id, target->label);
      return 0;
    }
  if (!target->has_rows)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOTHING,
                   /* Translators: an action number and its label */
                   _("Action %lld (“%s”) changed nothing that can be reverted"),
                   (long long) action_id, target->label);
      return 0;
    }
  /* Translators: the label of a revert in the history; %s is the label of
   * the action reverted */
  label = g_strdup_printf (_("Revert: %s"), target->label);
  {
    /* A revert is named after the action itself, even an undo. */
    ActionKind kind = target->kind;
    gint64 id;

    target->kind = KIND_DO;
    id = compensate (project, target, KIND_REVERT, label, cancellable, error);
    target->kind = kind;
    return id;
  }
}

/* ---- the audit trail ---------------------------------------------------- */

void
dothi_action_info_free (DothiActionInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->time);
  g_free (info->user);
  g_free (info->label);
  g_strfreev (info->layers);
  g_free (info);
}

void
dothi_feature_event_free (DothiFeatureEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->time);
  g_free (event->user);
  g_free (event->op);
  g_free (event->before_attrs);
  g_free (event->after_attrs);
  g_clear_pointer (&event->before_wkb, g_bytes_unref);
  g_clear_pointer (&event->after_wkb, g_bytes_unref);
  g_free (event);
}

/* The layers an action touched: its audit rows' and its registry
 * journal's. */
static char **
action_layers (const char *audit_layers, const char *inverse)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonNode) registry = NULL;

  if (audit_layers != NULL && *audit_layers != '\0')
    {
      g_auto(GStrv) parts = g_strsplit (audit_layers, ",", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        g_ptr_array_add (names, g_strdup (parts[i]));
    }
  kind_from_inverse (inverse, &registry);
  if (registry != NULL && JSON_NODE_HOLDS_OBJECT (registry))
    {
      JsonArray *after = json_object_get_array_member (json_node_get_object (registry), "after");
      for (guint i = 0; after != NULL && i < json_array_get_length (after); i++)
        {
          JsonObject *o = json_array_get_object_element (after, i);
          const char *name = o ? json_object_get_string_member_with_default (o, "name", NULL) : NULL;
          gboolean seen = FALSE;

          for (guint k = 0; name != NULL && k < names->len; k++)
            seen |= g_str_equal (names->pdata[k], name);
          if (name != NULL && !seen)
            g_ptr_array_add (names, g_strdup (name));
        }
    }
  {
    g_autoptr(JsonArray) schema = schema_from_inverse (inverse);

    for (guint i = 0; schema != NULL && i < json_array_get_length (schema); i++)
      {
        JsonObject *o = json_array_get_object_element (schema, i);
        const char *name = o ? json_object_get_string_member_with_default (o, "layer", NULL) : NULL;
        gboolean seen = FALSE;

        for (guint k = 0; name != NULL && k < names->len; k++)
          seen |= g_str_equal (names->pdata[k], name);
        if (name != NULL && !seen)
          g_ptr_array_add (names, g_strdup (name));
      }
  }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_steal (names, NULL);
}

GPtrArray *
dothi_audit_list_actions (DothiProject *project, guint offset, guint limit, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_action_info_free);
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  /* Rows written by other programs are grouped into runs: the rows between
   * two of Dothi's actions. Runs and actions are merged by time. */
  if (!prepare_sql (project,
                    "WITH runs AS ("
                    "  SELECT id, time, action_id, layer, "
                    "         sum(action_id IS NOT NULL) OVER (ORDER BY id) AS run "
                    "  FROM dothi_audit), "
                    "external AS ("
                    "  SELECT 0 AS id, min(time) AS time, 'external' AS user, NULL AS label, "
                    "         0 AS undo_of, count(*) AS n, group_concat(DISTINCT layer) AS layers, "
                    "         0 AS undone, NULL AS inverse, 0 AS own, min(id) AS pos "
                    "  FROM runs WHERE action_id IS NULL GROUP BY run), "
                    "own AS ("
                    "  SELECT a.id, a.time, a.user, a.label, COALESCE(a.undo_of, 0), "
                    "         (SELECT count(*) FROM dothi_audit u WHERE u.action_id = a.id), "
                    "         (SELECT group_concat(DISTINCT u.layer) FROM dothi_audit u WHERE u.action_id = a.id), "
                    "         EXISTS (SELECT 1 FROM dothi_actions b WHERE b.undo_of = a.id), "
                    "         a.inverse, 1, a.id "
                    "  FROM dothi_actions a) "
                    "SELECT * FROM own UNION ALL SELECT * FROM external "
                    "ORDER BY 2 DESC, 10 DESC, 11 DESC LIMIT ?1 OFFSET ?2",
                    &stmt, error))
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit > 0 ? (gint64) limit : -1);
  sqlite3_bind_int64 (stmt, 2, offset);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      DothiActionInfo *info = g_new0 (DothiActionInfo, 1);

      info->id = sqlite3_column_int64 (stmt, 0);
      info->time = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      info->user = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        info->label = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      else
        /* Translators: a run of edits made to the project file by QGIS,
         * the spatialite shell or another program, in the history */
        info->label = g_strdup (_("Edits by other programs"));
      info->undo_of = sqlite3_column_int64 (stmt, 4);
      info->n_features = (guint) sqlite3_column_int64 (stmt, 5);
      info->layers = action_layers ((const char *) sqlite3_column_text (stmt, 6),
                                    (const char *) sqlite3_column_text (stmt, 8));
      info->undone = sqlite3_column_int (stmt, 7);
      g_ptr_array_add (list, info);
    }
  if (rc != SQLITE_DONE)
    {
      set_read_error (project, error);
      return NULL;
    }
  return g_steal_pointer (&list);
}

static GBytes *
blob_to_wkb (sqlite3_stmt *stmt, int c)
{
  g_autoptr(GByteArray) wkb = g_byte_array_new ();

  if (sqlite3_column_type (stmt, c) != SQLITE_BLOB
      || !dothi_blob_to_wkb (sqlite3_column_blob (stmt, c), sqlite3_column_bytes (stmt, c), wkb, NULL))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&wkb));
}

GPtrArray *
dothi_audit_feature_history (DothiProject *project, const char *layer, gint64 fid, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_feature_event_free);
  g_autoptr(DothiLayerInfo) info = NULL;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  /* A layer dropped since still has its history; only an unknown name
   * with no history at all is an error. */
  info = dothi_project_get_layer (project, layer, NULL);
  if (!prepare_sql (project,
                    "SELECT id, COALESCE(action_id, 0), time, user, op, before_attrs, after_attrs, "
                    "before_geom, after_geom FROM dothi_audit WHERE layer = ?1 AND fid = ?2 ORDER BY id",
                    &stmt, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, fid);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      DothiFeatureEvent *e = g_new0 (DothiFeatureEvent, 1);

      e->audit_id = sqlite3_column_int64 (stmt, 0);
      e->action_id = sqlite3_column_int64 (stmt, 1);
      e->time = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      e->user = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      e->op = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      e->before_attrs = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      e->after_attrs = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
      e->before_wkb = blob_to_wkb (stmt, 7);
      e->after_wkb = blob_to_wkb (stmt, 8);
      g_ptr_array_add (list, e);
    }
  if (rc != SQLITE_DONE)
    {
      set_read_error (project, error);
      return NULL;
    }
  if (list->len == 0 && info == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("There is no layer “%s” in “%s”"), layer, dothi_project_get_path (project));
      return NULL;
    }
  return g_steal_pointer (&list);
}
