/* dothi-parcel.c: split (tách thửa), merge (hợp thửa) and the topology
 * check of a parcel layer, with GEOS in the layer CRS. Split and merge read
 * on the project's connection and write one DothiChangeSet as one action. */
#define G_LOG_DOMAIN "dothi-parcel"

#include "config.h"
#include "dothi-parcel.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <geos_c.h>
#include <math.h>
#include <stdlib.h>

/* Areas are compared to this (m²): the pieces of a split must add up to
 * the original within it (plus 1e-12 of the area for rounding). */
#define AREA_EPSILON 1e-6
/* Merge with a tolerance of 0 still allows for noding drift (m). */
#define MIN_TOLERANCE 1e-6

struct _DothiParcelRules
{
  GHashTable *rules;   /* field name → DothiFieldRule */
};

static const char * const area_names[] = { "dien_tich", "dientich", "area", NULL };
static const char * const number_names[] = { "so_thua", "thua", "parcel_no", NULL };
/* Parcels are numbered per map sheet where the layer has a sheet field,
 * and a sheet number is unique within its commune. */
static const char * const sheet_names[] = { "so_to", NULL };
static const char * const commune_names[] = { "ma_xa", NULL };

DothiParcelRules *
dothi_parcel_rules_new_default (const DothiLayerInfo *info)
{
  DothiParcelRules *rules = g_new0 (DothiParcelRules, 1);

  rules->rules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (info == NULL || info->fields == NULL)
    return rules;
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_autofree char *lower = g_ascii_strdown (f->name, -1);

      if (g_strv_contains (area_names, lower))
        dothi_parcel_rules_set (rules, f->name, DOTHI_FIELD_RULE_AREA);
      else if (g_strv_contains (number_names, lower))
        dothi_parcel_rules_set (rules, f->name, DOTHI_FIELD_RULE_NEXT_NUMBER);
      else
        dothi_parcel_rules_set (rules, f->name, DOTHI_FIELD_RULE_COPY);
    }
  return rules;
}

void
dothi_parcel_rules_free (DothiParcelRules *rules)
{
  if (rules == NULL)
    return;
  g_hash_table_unref (rules->rules);
  g_free (rules);
}

void
dothi_parcel_rules_set (DothiParcelRules *rules, const char *field, DothiFieldRule rule)
{
  g_return_if_fail (rules != NULL);
  g_return_if_fail (field != NULL);
  g_hash_table_replace (rules->rules, g_strdup (field), GINT_TO_POINTER (rule));
}

DothiFieldRule
dothi_parcel_rules_get (DothiParcelRules *rules, const char *field)
{
  gpointer value;

  g_return_val_if_fail (rules != NULL, DOTHI_FIELD_RULE_COPY);
  g_return_val_if_fail (field != NULL, DOTHI_FIELD_RULE_COPY);
  if (g_hash_table_lookup_extended (rules->rules, field, NULL, &value))
    return GPOINTER_TO_INT (value);
  return DOTHI_FIELD_RULE_COPY;
}

void
dothi_topology_problem_free (DothiTopologyProblem *problem)
{
  if (problem == NULL)
    return;
  g_clear_pointer (&problem->wkb, g_bytes_unref);
  g_free (problem);
}

/* ---- GEOS ---------------------------------------------------------------- */

/* A GEOS context for one call, with its last error message and the
 * geometries to destroy at the end (GEOS objects need the context to be
 * freed, so g_autoptr cannot hold them). */
typedef struct {
  GEOSContextHandle_t  h;
  GString             *message;
  GPtrArray           *owned;
  GEOSWKBReader       *reader;
  GEOSWKBWriter       *writer;
} Geos;

static void
geos_message_cb (const char *message, void *data)
{
  Geos *g = data;

  g_string_assign (g->message, message != NULL ? message : "");
}

static void
geos_init (Geos *g, gboolean has_z)
{
  g->h = GEOS_init_r ();
  g->message = g_string_new (NULL);
  g->owned = g_ptr_array_new ();
  GEOSContext_setErrorMessageHandler_r (g->h, geos_message_cb, g);
  g->reader = GEOSWKBReader_create_r (g->h);
  g->writer = GEOSWKBWriter_create_r (g->h);
  GEOSWKBWriter_setOutputDimension_r (g->h, g->writer, has_z ? 3 : 2);
  GEOSWKBWriter_setByteOrder_r (g->h, g->writer, GEOS_WKB_NDR);
  GEOSWKBWriter_setFlavor_r (g->h, g->writer, GEOS_WKB_ISO);
}

static void
geos_clear (Geos *g)
{
  if (g->h == NULL)
    return;
  for (guint i = 0; i < g->owned->len; i++)
    GEOSGeom_destroy_r (g->h, g_ptr_array_index (g->owned, i));
  g_ptr_array_unref (g->owned);
  GEOSWKBReader_destroy_r (g->h, g->reader);
  GEOSWKBWriter_destroy_r (g->h, g->writer);
  GEOS_finish_r (g->h);
  g_string_free (g->message, TRUE);
  g->h = NULL;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Geos, geos_clear)

/* Hands @geom (may be NULL) to the context, destroyed by geos_clear(). */
static GEOSGeometry *
keep (Geos *g, GEOSGeometry *geom)
{
  if (geom != NULL)
    g_ptr_array_add (g->owned, geom);
  return geom;
}

static GBytes *
write_wkb (Geos *g, const GEOSGeometry *geom)
{
  size_t len = 0;
  unsigned char *buf = GEOSWKBWriter_write_r (g->h, g->writer, geom, &len);
  GBytes *bytes;

  if (buf == NULL)
    return NULL;
  bytes = g_bytes_new (buf, len);
  GEOSFree_r (g->h, buf);
  return bytes;
}

/* @poly (a Polygon) as a new MultiPolygon, the kind parcel layers store. */
static GEOSGeometry *
to_multipolygon (Geos *g, const GEOSGeometry *poly)
{
  GEOSGeometry *part = GEOSGeom_clone_r (g->h, poly);

  if (part == NULL)
    return NULL;
  return GEOSGeom_createCollection_r (g->h, GEOS_MULTIPOLYGON, &part, 1);
}

/* The polygonal parts of @geom as a new MultiPolygon (empty if none). */
static GEOSGeometry *
polygonal_parts (Geos *g, const GEOSGeometry *geom)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  int n = GEOSGetNumGeometries_r (g->h, geom);

  for (int i = 0; i < n; i++)
    {
      const GEOSGeometry *part = GEOSGetGeometryN_r (g->h, geom, i);
      int type = GEOSGeomTypeId_r (g->h, part);

      if (type == GEOS_POLYGON && !GEOSisEmpty_r (g->h, part))
        g_ptr_array_add (parts, GEOSGeom_clone_r (g->h, part));
      else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION)
        {
          GEOSGeometry *sub = polygonal_parts (g, part);
          int m = GEOSGetNumGeometries_r (g->h, sub);

          for (int k = 0; k < m; k++)
            g_ptr_array_add (parts, GEOSGeom_clone_r (g->h, GEOSGetGeometryN_r (g->h, sub, k)));
          GEOSGeom_destroy_r (g->h, sub);
        }
    }
  return GEOSGeom_createCollection_r (g->h, GEOS_MULTIPOLYGON, (GEOSGeometry **) parts->pdata,
                                      parts->len);
}

/* ---- reading parcels ------------------------------------------------------- */

typedef struct {
  DothiProject   *project;
  sqlite3        *db;
  DothiLayerInfo *info;
  Geos            geos;
} Ctx;

static void
ctx_clear (Ctx *c)
{
  geos_clear (&c->geos);
  g_clear_pointer (&c->info, dothi_layer_info_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Ctx, ctx_clear)

typedef struct {
  gint64              fid;
  JsonObject         *attrs;  /* every field but blobs, by name */
  const GEOSGeometry *geom;   /* owned by the context */
} Parcel;

static void
parcel_clear (Parcel *p)
{
  g_clear_pointer (&p->attrs, json_object_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parcel, parcel_clear)

static gboolean
set_db_error (Ctx *c, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, project file, SQLite's message */
               _("Cannot read layer “%s” of “%s”: %s"), c->info->name,
               dothi_project_get_path (c->project), sqlite3_errmsg (c->db));
  return FALSE;
}

static gboolean
ctx_init (Ctx *c, DothiProject *project, const char *layer, GError **error)
{
  DothiStore *store = dothi_project_get_store (project);

  c->project = project;
  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   _("Parcel editing needs a SpatiaLite project: “%s” is not one"),
                   dothi_project_get_path (project));
      return FALSE;
    }
  c->db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
  c->info = dothi_project_get_layer (project, layer, error);
  if (c->info == NULL)
    return FALSE;
  if (c->info->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON
      && c->info->kind != DOTHI_GEOMETRY_KIND_GEOMETRY)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name */
                   _("Layer “%s” has no polygons: it cannot hold parcels"), c->info->name);
      return FALSE;
    }
  if (c->info->has_m)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: layer name */
                   _("Layer “%s” has M values, which parcel editing cannot keep"),
                   c->info->name);
      return FALSE;
    }
  geos_init (&c->geos, c->info->has_z);
  return TRUE;
}

/* Areas are in m² only in a CRS in metres (VN-2000 TM-3, UTM). */
static gboolean
check_metric (Ctx *c, DothiParcelRules *rules, GError **error)
{
  gboolean needed = FALSE;
  OGRSpatialReferenceH srs;
  double to_metre = 0;

  for (guint i = 0; i < c->info->fields->len && !needed; i++)
    needed = dothi_parcel_rules_get (rules, ((DothiField *) g_ptr_array_index (c->info->fields, i))->name)
             == DOTHI_FIELD_RULE_AREA;
  if (!needed)
    return TRUE;
  srs = dothi_crs_new_srs (c->info->srid, NULL);
  if (srs != NULL && OSRIsProjected (srs))
    to_metre = OSRGetLinearUnits (srs, NULL);
  if (srs != NULL)
    OSRRelease (srs);
  if (fabs (to_metre - 1.0) > 1e-9)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: layer name, EPSG code */
                   _("Layer “%s” is not in a CRS in metres (EPSG:%d): parcel areas cannot be computed"),
                   c->info->name, c->info->srid);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_parcel (Ctx *c, gint64 fid, Parcel *p, GError **error)
{
  g_autoptr(GString) sql = g_string_new ("SELECT geom");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  g_autoptr(DothiSqlStr) from = sqlite3_mprintf (" FROM \"%w\" WHERE fid = ?1", c->info->name);
  GEOSGeometry *geom;
  guint nf = c->info->fields->len;
  int rc;

  for (guint i = 0; i < nf; i++)
    {
      g_autoptr(DothiSqlStr) col =
        sqlite3_mprintf (", \"%w\"", ((DothiField *) g_ptr_array_index (c->info->fields, i))->name);
      g_string_append (sql, col);
    }
  g_string_append (sql, from);
  if (sqlite3_prepare_v2 (c->db, sql->str, -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_int64 (stmt, 1, fid) != SQLITE_OK)
    return set_db_error (c, error);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: feature id, layer name */
                   _("There is no parcel %lld in layer “%s”"), (long long) fid, c->info->name);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return set_db_error (c, error);

  p->fid = fid;
  p->attrs = json_object_new ();
  for (guint i = 0; i < nf; i++)
    {
      const DothiField *f = g_ptr_array_index (c->info->fields, i);
      int col = (int) i + 1;

      switch (sqlite3_column_type (stmt, col))
        {
        case SQLITE_NULL:
          json_object_set_null_member (p->attrs, f->name);
          break;
        case SQLITE_INTEGER:
          json_object_set_int_member (p->attrs, f->name, sqlite3_column_int64 (stmt, col));
          break;
        case SQLITE_FLOAT:
          json_object_set_double_member (p->attrs, f->name, sqlite3_column_double (stmt, col));
          break;
        case SQLITE_TEXT:
          json_object_set_string_member (p->attrs, f->name, (const char *) sqlite3_column_text (stmt, col));
          break;
        default:
          /* A change set carries no BLOB values: left out, so a new parcel
           * gets NULL there. */
          break;
        }
    }

  if (sqlite3_column_type (stmt, 0) != SQLITE_BLOB
      || !dothi_blob_to_wkb (sqlite3_column_blob (stmt, 0), (gsize) sqlite3_column_bytes (stmt, 0),
                             wkb, NULL)
      || (geom = keep (&c->geos, GEOSWKBReader_read_r (c->geos.h, c->geos.reader, wkb->data,
                                                       wkb->len))) == NULL
      || GEOSisEmpty_r (c->geos.h, geom))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: feature id, layer name */
                   _("Parcel %lld of layer “%s” has no readable geometry"), (long long) fid,
                   c->info->name);
      return FALSE;
    }
  if (GEOSisValid_r (c->geos.h, geom) != 1)
    {
      char *reason = GEOSisValidReason_r (c->geos.h, geom);

      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: feature id, layer name, GEOS's reason */
                   _("Parcel %lld of layer “%s” has an invalid geometry (%s): repair it first"),
                   (long long) fid, c->info->name, reason != NULL ? reason : "");
      GEOSFree_r (c->geos.h, reason);
      return FALSE;
    }
  p->geom = geom;
  return TRUE;
}

/* ---- attribute rules ---------------------------------------------------------- */

static int
find_named_field (const DothiLayerInfo *info, const char * const *names)
{
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      g_autofree char *lower = g_ascii_strdown (f->name, -1);

      if (g_strv_contains (names, lower))
        return (int) i;
    }
  return -1;
}

static gboolean
node_to_int (JsonNode *node, gint64 *out)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node) || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      *out = json_node_get_int (node);
      return TRUE;
    case G_TYPE_DOUBLE:
      *out = (gint64) json_node_get_double (node);
      return TRUE;
    case G_TYPE_STRING:
      {
        const char *s = json_node_get_string (node);
        char *end = NULL;

        *out = g_ascii_strtoll (s, &end, 10);
        return end != s;
      }
    default:
      return FALSE;
    }
}

/* A number as the field holds them: text keeps the zero padding of
 * @like ("0345" → "0346"). */
static void
set_number (JsonObject *obj, const DothiField *f, gint64 n, JsonNode *like)
{
  if (f->type == DOTHI_FIELD_TEXT)
    {
      const char *s = like != NULL && JSON_NODE_HOLDS_VALUE (like)
                      && json_node_get_value_type (like) == G_TYPE_STRING
                      ? json_node_get_string (like) : NULL;
      int width = s != NULL && s[0] == '0' ? (int) strlen (s) : 0;

      g_autofree char *text = g_strdup_printf ("%0*" G_GINT64_FORMAT, width, n);

      json_object_set_string_member (obj, f->name, text);
    }
  else
    json_object_set_int_member (obj, f->name, n);
}

static void
set_area (JsonObject *obj, const DothiField *f, double area)
{
  double rounded = round (area * 10.0) / 10.0;

  switch (f->type)
    {
    case DOTHI_FIELD_INTEGER:
      json_object_set_int_member (obj, f->name, (gint64) llround (area));
      break;
    case DOTHI_FIELD_TEXT:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        json_object_set_string_member (obj, f->name, g_ascii_formatd (buf, sizeof buf, "%.1f", rounded));
      }
      break;
    default:
      json_object_set_double_member (obj, f->name, rounded);
      break;
    }
}

static void
bind_node (sqlite3_stmt *stmt, int index, JsonNode *v)
{
  if (v == NULL || JSON_NODE_HOLDS_NULL (v) || !JSON_NODE_HOLDS_VALUE (v))
    sqlite3_bind_null (stmt, index);
  else if (json_node_get_value_type (v) == G_TYPE_INT64)
    sqlite3_bind_int64 (stmt, index, json_node_get_int (v));
  else if (json_node_get_value_type (v) == G_TYPE_DOUBLE)
    sqlite3_bind_double (stmt, index, json_node_get_double (v));
  else
    sqlite3_bind_text (stmt, index, json_node_get_string (v), -1, SQLITE_TRANSIENT);
}

/* The largest parcel number of the layer, or of @orig's map sheet (in its
 * commune) when the layer has those fields. Without an index on them this
 * reads the whole layer: about 90 ms for a million parcels, warm. */
static gboolean
max_number (Ctx *c, const DothiField *number, const Parcel *orig, gint64 *out, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const DothiField *keys[2] = { NULL, NULL };
  int sheet = find_named_field (c->info, sheet_names);
  int commune = find_named_field (c->info, commune_names);
  guint n_keys = 0;

  if (sheet >= 0 && g_ptr_array_index (c->info->fields, sheet) != number)
    {
      keys[n_keys++] = g_ptr_array_index (c->info->fields, sheet);
      if (commune >= 0 && g_ptr_array_index (c->info->fields, commune) != number)
        keys[n_keys++] = g_ptr_array_index (c->info->fields, commune);
    }
  if (number->type == DOTHI_FIELD_TEXT)
    sql = sqlite3_mprintf ("SELECT max(CAST(\"%w\" AS INTEGER)) FROM \"%w\"", number->name, c->info->name);
  else
    sql = sqlite3_mprintf ("SELECT max(\"%w\") FROM \"%w\"", number->name, c->info->name);
  g_string_append (text, sql);
  for (guint k = 0; k < n_keys; k++)
    {
      g_autoptr(DothiSqlStr) cond = sqlite3_mprintf (" %s \"%w\" IS ?%u", k == 0 ? "WHERE" : "AND",
                                                     keys[k]->name, k + 1);
      g_string_append (text, cond);
    }
  if (sqlite3_prepare_v2 (c->db, text->str, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (c, error);
  for (guint k = 0; k < n_keys; k++)
    bind_node (stmt, (int) k + 1, json_object_get_member (orig->attrs, keys[k]->name));
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return set_db_error (c, error);
  *out = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* The text that names a parcel in an action label: its number, else its
 * fid. */
static char *
dup_parcel_name (Ctx *c, DothiParcelRules *rules, const Parcel *p)
{
  for (guint i = 0; i < c->info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (c->info->fields, i);
      JsonNode *v = json_object_get_member (p->attrs, f->name);
      gint64 n;

      if (dothi_parcel_rules_get (rules, f->name) == DOTHI_FIELD_RULE_NEXT_NUMBER
          && v != NULL && JSON_NODE_HOLDS_VALUE (v))
        {
          if (json_node_get_value_type (v) == G_TYPE_STRING)
            return g_strdup (json_node_get_string (v));
          if (node_to_int (v, &n))
            return g_strdup_printf ("%" G_GINT64_FORMAT, n);
        }
    }
  return g_strdup_printf ("%" G_GINT64_FORMAT, p->fid);
}

/* ---- split ------------------------------------------------------------------- */

typedef struct {
  GEOSGeometry *poly;   /* owned by the context */
  double        area;
  double        x, y;   /* centroid */
} Piece;

/* Vietnamese cadastral numbering runs left to right, top to bottom of the
 * sheet: north first, then west. */
static int
compare_pieces (gconstpointer a, gconstpointer b)
{
  const Piece *pa = a, *pb = b;
  /* to the millimetre, so mirror images compare equal in y */
  double ya = round (pa->y * 1000), yb = round (pb->y * 1000);

  if (ya != yb)
    return ya > yb ? -1 : 1;
  if (pa->x != pb->x)
    return pa->x < pb->x ? -1 : 1;
  return 0;
}

static gboolean
refuse_no_cut (Ctx *c, gint64 fid, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: feature id, layer name */
               _("The line does not cut parcel %lld of “%s” in two"), (long long) fid, c->info->name);
  return FALSE;
}

/* The faces of @poly cut by @line, in numbering order. The polygon's own
 * vertices are kept bit for bit; only the crossings are new. */
static GArray *
split_geometry (Ctx *c, gint64 fid, const GEOSGeometry *poly, const GEOSGeometry *line,
                GError **error)
{
  Geos *g = &c->geos;
  g_autoptr(GArray) pieces = g_array_new (FALSE, FALSE, sizeof (Piece));
  GEOSGeometry *parts[2], *coll, *noded, *faces;
  const GEOSGeometry *noded_c;
  const GEOSPreparedGeometry *prep;
  double orig_area = 0, sum = 0;
  int n;

  if (GEOSGetNumGeometries_r (g->h, poly) > 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: feature id, layer name */
                   _("Parcel %lld of “%s” has several parts: only a parcel of one part can be split"),
                   (long long) fid, c->info->name);
      return NULL;
    }
  if (!GEOSIntersects_r (g->h, poly, line))
    {
      refuse_no_cut (c, fid, error);
      return NULL;
    }

  parts[0] = GEOSBoundary_r (g->h, poly);
  parts[1] = GEOSGeom_clone_r (g->h, line);
  coll = keep (g, GEOSGeom_createCollection_r (g->h, GEOS_GEOMETRYCOLLECTION, parts, 2));
  noded = coll != NULL ? keep (g, GEOSNode_r (g->h, coll)) : NULL;
  noded_c = noded;
  faces = noded != NULL ? keep (g, GEOSPolygonize_r (g->h, &noded_c, 1)) : NULL;
  if (faces == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: feature id, layer name, GEOS's message */
                   _("Cannot split parcel %lld of “%s”: %s"), (long long) fid, c->info->name,
                   g->message->str);
      return NULL;
    }

  /* Faces outside the parcel (where the line loops outside it, or in a
   * hole) are dropped. */
  prep = GEOSPrepare_r (g->h, poly);
  n = GEOSGetNumGeometries_r (g->h, faces);
  for (int i = 0; i < n; i++)
    {
      const GEOSGeometry *face = GEOSGetGeometryN_r (g->h, faces, i);
      GEOSGeometry *pt = GEOSPointOnSurface_r (g->h, face);
      GEOSGeometry *centroid;
      Piece piece = { 0 };
      char inside = pt != NULL ? GEOSPreparedContains_r (g->h, prep, pt) : 0;

      GEOSGeom_destroy_r (g->h, pt);
      if (inside != 1)
        continue;
      piece.poly = keep (g, GEOSGeom_clone_r (g->h, face));
      GEOSArea_r (g->h, face, &piece.area);
      centroid = GEOSGetCentroid_r (g->h, face);
      GEOSGeomGetX_r (g->h, centroid, &piece.x);
      GEOSGeomGetY_r (g->h, centroid, &piece.y);
      GEOSGeom_destroy_r (g->h, centroid);
      sum += piece.area;
      g_array_append_val (pieces, piece);
    }
  GEOSPreparedGeom_destroy_r (g->h, prep);

  if (pieces->len < 2)
    {
      refuse_no_cut (c, fid, error);
      return NULL;
    }
  GEOSArea_r (g->h, poly, &orig_area);
  if (fabs (sum - orig_area) > AREA_EPSILON + 1e-12 * orig_area)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: feature id, layer name, two areas in m² */
                   _("Splitting parcel %lld of “%s” would change its area (%.6f m² against %.6f m²)"),
                   (long long) fid, c->info->name, sum, orig_area);
      return NULL;
    }
  g_array_sort (pieces, compare_pieces);
  return g_steal_pointer (&pieces);
}

static GEOSGeometry *
read_line (Ctx *c, GBytes *line_wkb, GError **error)
{
  Geos *g = &c->geos;
  gsize len = 0;
  const guint8 *data = line_wkb != NULL ? g_bytes_get_data (line_wkb, &len) : NULL;
  GEOSGeometry *line = NULL;
  int type = -1;

  if (data != NULL && len > 0)
    line = keep (g, GEOSWKBReader_read_r (g->h, g->reader, data, len));
  if (line != NULL)
    type = GEOSGeomTypeId_r (g->h, line);
  if (line == NULL || (type != GEOS_LINESTRING && type != GEOS_MULTILINESTRING)
      || GEOSisEmpty_r (g->h, line))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name */
                   _("The cutting line for layer “%s” is not a line"), c->info->name);
      return NULL;
    }
  return line;
}

gint64
dothi_parcel_split_sync (DothiProject *project, const char *layer, gint64 fid, GBytes *line_wkb,
                         DothiParcelRules *rules, GArray **new_fids, GError **error)
{
  g_auto(Ctx) c = { 0 };
  g_auto(Parcel) orig = { 0 };
  g_autoptr(DothiParcelRules) own_rules = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(GArray) pieces = NULL;
  g_autofree char *name = NULL;
  g_autofree char *label = NULL;
  g_autofree gint64 *next = NULL;
  GEOSGeometry *line;
  guint nf;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  g_return_val_if_fail (layer != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!ctx_init (&c, project, layer, error))
    return 0;
  if (rules == NULL)
    rules = own_rules = dothi_parcel_rules_new_default (c.info);
  if (!check_metric (&c, rules, error)
      || (line = read_line (&c, line_wkb, error)) == NULL
      || !read_parcel (&c, fid, &orig, error))
    return 0;
  pieces = split_geometry (&c, fid, orig.geom, line, error);
  if (pieces == NULL)
    return 0;

  nf = c.info->fields->len;
  next = g_new0 (gint64, MAX (nf, 1));
  for (guint i = 0; i < nf; i++)
    {
      const DothiField *f = g_ptr_array_index (c.info->fields, i);

      if (dothi_parcel_rules_get (rules, f->name) == DOTHI_FIELD_RULE_NEXT_NUMBER
          && !max_number (&c, f, &orig, &next[i], error))
        return 0;
    }

  set = dothi_change_set_new ();
  dothi_change_set_delete (set, c.info->name, fid);
  for (guint k = 0; k < pieces->len; k++)
    {
      const Piece *piece = &g_array_index (pieces, Piece, k);
      g_autoptr(JsonObject) props = json_object_new ();
      g_autoptr(GBytes) wkb = NULL;
      GEOSGeometry *multi = keep (&c.geos, to_multipolygon (&c.geos, piece->poly));

      for (guint i = 0; i < nf; i++)
        {
          const DothiField *f = g_ptr_array_index (c.info->fields, i);
          JsonNode *v = json_object_get_member (orig.attrs, f->name);

          switch (dothi_parcel_rules_get (rules, f->name))
            {
            case DOTHI_FIELD_RULE_CLEAR:
              json_object_set_null_member (props, f->name);
              break;
            case DOTHI_FIELD_RULE_AREA:
              set_area (props, f, piece->area);
              break;
            case DOTHI_FIELD_RULE_NEXT_NUMBER:
              set_number (props, f, next[i] + k + 1, v);
              break;
            case DOTHI_FIELD_RULE_COPY:
            case DOTHI_FIELD_RULE_SUM:   /* nothing to sum in a split */
            default:
              if (v != NULL)
                json_object_set_member (props, f->name, json_node_copy (v));
              break;
            }
        }
      wkb = multi != NULL ? write_wkb (&c.geos, multi) : NULL;
      if (wkb == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                       _("Cannot split parcel %lld of “%s”: %s"), (long long) fid, c.info->name,
                       c.geos.message->str);
          return 0;
        }
      dothi_change_set_insert (set, c.info->name, props, wkb);
    }

  name = dup_parcel_name (&c, rules, &orig);
  /* Translators: the action in the history; %s is the parcel number */
  label = g_strdup_printf (_("Split parcel %s"), name);
  return dothi_edit_apply_sync (project, set, label, new_fids, NULL, NULL, NULL, error);
}

/* ---- merge ------------------------------------------------------------------- */

/* The union of @parcels but @skip, a new geometry. */
static GEOSGeometry *
union_except (Geos *g, const Parcel *parcels, guint n, guint skip)
{
  g_autofree GEOSGeometry **parts = g_new0 (GEOSGeometry *, n);
  GEOSGeometry *coll, *u;
  guint m = 0;

  for (guint i = 0; i < n; i++)
    if (i != skip)
      parts[m++] = GEOSGeom_clone_r (g->h, parcels[i].geom);
  coll = GEOSGeom_createCollection_r (g->h, GEOS_GEOMETRYCOLLECTION, parts, m);
  u = coll != NULL ? GEOSUnaryUnion_r (g->h, coll) : NULL;
  GEOSGeom_destroy_r (g->h, coll);
  return u;
}

/* Length of @a's boundary within @tol of @b. */
static double
shared_length (Geos *g, const GEOSGeometry *a, const GEOSGeometry *b, double tol)
{
  GEOSGeometry *boundary = GEOSBoundary_r (g->h, a);
  GEOSGeometry *zone = GEOSBuffer_r (g->h, b, tol, 8);
  GEOSGeometry *shared = boundary != NULL && zone != NULL
                         ? GEOSIntersection_r (g->h, boundary, zone) : NULL;
  double len = 0;

  if (shared != NULL)
    GEOSLength_r (g->h, shared, &len);
  GEOSGeom_destroy_r (g->h, boundary);
  GEOSGeom_destroy_r (g->h, zone);
  GEOSGeom_destroy_r (g->h, shared);
  return len;
}

/* @poly without the holes thinner than @tol (slivers left between parcels
 * that did not quite touch); a new polygon. */
static GEOSGeometry *
drop_slivers (Geos *g, const GEOSGeometry *poly, double tol)
{
  g_autoptr(GPtrArray) holes = g_ptr_array_new ();
  int n = GEOSGetNumInteriorRings_r (g->h, poly);
  GEOSGeometry *shell = GEOSGeom_clone_r (g->h, GEOSGetExteriorRing_r (g->h, poly));

  for (int i = 0; i < n; i++)
    {
      const GEOSGeometry *ring = GEOSGetInteriorRingN_r (g->h, poly, i);
      GEOSGeometry *ring_poly = GEOSGeom_createPolygon_r (g->h, GEOSGeom_clone_r (g->h, ring), NULL, 0);
      double area = 0, perimeter = 0;

      GEOSArea_r (g->h, ring_poly, &area);
      GEOSLength_r (g->h, ring, &perimeter);
      GEOSGeom_destroy_r (g->h, ring_poly);
      if (area > tol * perimeter / 2)
        g_ptr_array_add (holes, GEOSGeom_clone_r (g->h, ring));
    }
  return GEOSGeom_createPolygon_r (g->h, shell, (GEOSGeometry **) holes->pdata, holes->len);
}

gint64
dothi_parcel_merge_sync (DothiProject *project, const char *layer, const gint64 *fids, guint n_fids,
                         double tolerance, DothiParcelRules *rules, gint64 *new_fid, GError **error)
{
  g_auto(Ctx) c = { 0 };
  g_autoptr(DothiParcelRules) own_rules = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(JsonObject) props = NULL;
  g_autoptr(GBytes) wkb = NULL;
  g_autoptr(GArray) fids_out = NULL;
  g_autofree Parcel *parcels = NULL;
  g_autofree GEOSGeometry **parts = NULL;
  GEOSGeometry *coll, *merged, *poly, *multi;
  double tol = MAX (tolerance, MIN_TOLERANCE);
  double area = 0;
  gint64 action = 0;
  guint nf;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  g_return_val_if_fail (layer != NULL, 0);
  g_return_val_if_fail (fids != NULL || n_fids == 0, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!ctx_init (&c, project, layer, error))
    return 0;
  if (rules == NULL)
    rules = own_rules = dothi_parcel_rules_new_default (c.info);
  if (!check_metric (&c, rules, error))
    return 0;
  if (n_fids < 2)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name */
                   _("Merging needs at least two parcels of “%s”"), c.info->name);
      return 0;
    }
  for (guint i = 0; i < n_fids; i++)
    for (guint k = 0; k < i; k++)
      if (fids[i] == fids[k])
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: feature id, layer name */
                       _("Parcel %lld of “%s” is listed twice for the merge"), (long long) fids[i],
                       c.info->name);
          return 0;
        }

  parcels = g_new0 (Parcel, n_fids);
  for (guint i = 0; i < n_fids; i++)
    if (!read_parcel (&c, fids[i], &parcels[i], error))
      goto out;

  /* Each parcel shares a boundary with the others: a corner contact gives
   * at most about 2·tol of boundary within tol, a shared edge its length. */
  for (guint i = 0; i < n_fids; i++)
    {
      GEOSGeometry *others = keep (&c.geos, union_except (&c.geos, parcels, n_fids, i));

      if (others == NULL || shared_length (&c.geos, parcels[i].geom, others, tol) <= 4 * tol)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: feature id, layer name */
                       _("Parcel %lld of “%s” shares no boundary with the other parcels"),
                       (long long) fids[i], c.info->name);
          goto out;
        }
    }

  /* Snap each parcel onto the others (only with a tolerance: parcels that
   * share their vertices dissolve exactly), union, clean. */
  parts = g_new0 (GEOSGeometry *, n_fids);
  for (guint i = 0; i < n_fids; i++)
    {
      if (tolerance > 0)
        {
          GEOSGeometry *others = keep (&c.geos, union_except (&c.geos, parcels, n_fids, i));
          parts[i] = others != NULL ? GEOSSnap_r (c.geos.h, parcels[i].geom, others, tolerance) : NULL;
        }
      else
        parts[i] = GEOSGeom_clone_r (c.geos.h, parcels[i].geom);
      if (parts[i] == NULL)
        {
          for (guint k = 0; k < i; k++)
            GEOSGeom_destroy_r (c.geos.h, parts[k]);
          goto geos_failed;
        }
    }
  coll = keep (&c.geos, GEOSGeom_createCollection_r (c.geos.h, GEOS_GEOMETRYCOLLECTION, parts, n_fids));
  merged = coll != NULL ? keep (&c.geos, GEOSUnaryUnion_r (c.geos.h, coll)) : NULL;
  if (merged != NULL && GEOSisValid_r (c.geos.h, merged) != 1)
    merged = keep (&c.geos, GEOSBuffer_r (c.geos.h, merged, 0, 8));
  if (merged == NULL)
    goto geos_failed;
  merged = keep (&c.geos, polygonal_parts (&c.geos, merged));
  if (merged == NULL)
    goto geos_failed;
  if (GEOSGetNumGeometries_r (c.geos.h, merged) != 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name */
                   _("The parcels of “%s” to merge do not form a single polygon"), c.info->name);
      goto out;
    }
  poly = GEOSGetGeometryN_r (c.geos.h, merged, 0) != NULL
         ? keep (&c.geos, tolerance > 0 ? drop_slivers (&c.geos, GEOSGetGeometryN_r (c.geos.h, merged, 0), tolerance)
                                        : GEOSGeom_clone_r (c.geos.h, GEOSGetGeometryN_r (c.geos.h, merged, 0)))
         : NULL;
  multi = poly != NULL ? keep (&c.geos, to_multipolygon (&c.geos, poly)) : NULL;
  wkb = multi != NULL ? write_wkb (&c.geos, multi) : NULL;
  if (wkb == NULL)
    goto geos_failed;
  GEOSArea_r (c.geos.h, poly, &area);

  /* Attributes: the first parcel's, then the rules. */
  nf = c.info->fields->len;
  props = json_object_new ();
  for (guint i = 0; i < nf; i++)
    {
      const DothiField *f = g_ptr_array_index (c.info->fields, i);
      JsonNode *first = json_object_get_member (parcels[0].attrs, f->name);

      switch (dothi_parcel_rules_get (rules, f->name))
        {
        case DOTHI_FIELD_RULE_CLEAR:
          json_object_set_null_member (props, f->name);
          break;
        case DOTHI_FIELD_RULE_AREA:
          set_area (props, f, area);
          break;
        case DOTHI_FIELD_RULE_NEXT_NUMBER:
          {
            JsonNode *best = NULL;
            gint64 best_n = 0, n;

            for (guint k = 0; k < n_fids; k++)
              {
                JsonNode *v = json_object_get_member (parcels[k].attrs, f->name);

                if (node_to_int (v, &n) && (best == NULL || n < best_n))
                  best = v, best_n = n;
              }
            if (best != NULL)
              json_object_set_member (props, f->name, json_node_copy (best));
            else
              json_object_set_null_member (props, f->name);
          }
          break;
        case DOTHI_FIELD_RULE_SUM:
          {
            gboolean any = FALSE;
            gint64 isum = 0;
            double dsum = 0;

            for (guint k = 0; k < n_fids; k++)
              {
                JsonNode *v = json_object_get_member (parcels[k].attrs, f->name);

                if (v == NULL || !JSON_NODE_HOLDS_VALUE (v))
                  continue;
                if (json_node_get_value_type (v) == G_TYPE_INT64)
                  isum += json_node_get_int (v), dsum += (double) json_node_get_int (v), any = TRUE;
                else if (json_node_get_value_type (v) == G_TYPE_DOUBLE)
                  dsum += json_node_get_double (v), any = TRUE;
              }
            if (!any)
              json_object_set_null_member (props, f->name);
            else if (f->type == DOTHI_FIELD_INTEGER)
              json_object_set_int_member (props, f->name, isum);
            else
              json_object_set_double_member (props, f->name, dsum);
          }
          break;
        case DOTHI_FIELD_RULE_COPY:
        default:
          if (first != NULL)
            json_object_set_member (props, f->name, json_node_copy (first));
          break;
        }
    }

  set = dothi_change_set_new ();
  for (guint i = 0; i < n_fids; i++)
    dothi_change_set_delete (set, c.info->name, fids[i]);
  dothi_change_set_insert (set, c.info->name, props, wkb);
  /* Translators: the action in the history */
  action = dothi_edit_apply_sync (project, set, _("Merge parcels"), &fids_out, NULL, NULL, NULL, error);
  if (action > 0 && new_fid != NULL)
    *new_fid = fids_out != NULL && fids_out->len > 0 ? g_array_index (fids_out, gint64, 0) : 0;
  goto out;

geos_failed:
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, GEOS's message */
               _("Cannot merge the parcels of “%s”: %s"), c.info->name, c.geos.message->str);
out:
  for (guint i = 0; i < n_fids && parcels != NULL; i++)
    parcel_clear (&parcels[i]);
  return action;
}

/* ---- topology check ---------------------------------------------------- */

typedef struct {
  Geos        *geos;
  GPtrArray   *geoms;   /* GEOSGeometry*, owned until moved into the union */
  GArray      *fids;    /* gint64, parallel to geoms */
  GHashTable  *index;   /* fid → position + 1 */
} Loaded;

static gboolean
load_feature (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
              gpointer user_data, GError **error)
{
  Loaded *l = user_data;
  GEOSGeometry *g;

  if (wkb == NULL)
    return TRUE;
  g = GEOSWKBReader_read_r (l->geos->h, l->geos->reader, wkb, wkb_len);
  if (g == NULL || GEOSisEmpty_r (l->geos->h, g))
    {
      GEOSGeom_destroy_r (l->geos->h, g);
      return TRUE;   /* dothi-check reports unreadable geometries */
    }
  g_ptr_array_add (l->geoms, g);
  g_array_append_val (l->fids, fid);
  g_hash_table_insert (l->index, g_memdup2 (&fid, sizeof fid), GUINT_TO_POINTER (l->geoms->len));
  return TRUE;
}

static void
add_problem (GPtrArray *problems, Geos *g, DothiTopologyKind kind, gint64 a, gint64 b, double area,
             const GEOSGeometry *geom)
{
  DothiTopologyProblem *p = g_new0 (DothiTopologyProblem, 1);

  p->kind = kind;
  p->fid_a = a;
  p->fid_b = b;
  p->area = area;
  p->wkb = write_wkb (g, geom);
  g_ptr_array_add (problems, p);
}

/* A neighbour of @hole among the fids whose box meets its box, from the
 * layer's R-tree; the parcels not loaded yet that lie inside it are
 * subtracted from @hole (in place). */
static gint64
gap_neighbour (Ctx *c, Loaded *l, const GEOSGeometry *coll, GEOSGeometry **hole, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  Geos *g = &c->geos;
  double box[4];
  gint64 neighbour = 0;
  int rc;

  if (!GEOSGeom_getExtent_r (g->h, *hole, &box[0], &box[1], &box[2], &box[3]))
    return 0;
  sql = sqlite3_mprintf ("SELECT pkid FROM \"idx_%w_geom\" WHERE xmin <= ?3 AND xmax >= ?1 "
                         "AND ymin <= ?4 AND ymax >= ?2 ORDER BY pkid", c->info->name);
  if (sqlite3_prepare_v2 (c->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (c, error);
      return -1;
    }
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, box[i]);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      guint pos = GPOINTER_TO_UINT (g_hash_table_lookup (l->index, &fid));

      if (pos > 0)
        {
          const GEOSGeometry *geom = GEOSGetGeometryN_r (g->h, coll, (int) pos - 1);

          if (neighbour == 0 && GEOSIntersects_r (g->h, geom, *hole) == 1)
            neighbour = fid;
        }
      else
        {
          /* Outside the checked box: a parcel that fills (part of) the hole. */
          g_auto(Parcel) p = { 0 };
          GEOSGeometry *rest;

          if (!read_parcel (c, fid, &p, NULL))
            continue;
          rest = GEOSDifference_r (g->h, *hole, p.geom);
          if (rest != NULL)
            {
              GEOSGeom_destroy_r (g->h, *hole);
              *hole = rest;
            }
        }
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (c, error);
      return -1;
    }
  return neighbour;
}

GPtrArray *
dothi_parcel_check_topology_sync (DothiProject *project, const char *layer, const double *bbox,
                                  double min_area, GCancellable *cancellable, GError **error)
{
  g_auto(Ctx) c = { 0 };
  g_autoptr(GPtrArray) problems =
    g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_topology_problem_free);
  g_autoptr(GPtrArray) geoms = g_ptr_array_new ();
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  const double all[4] = { -HUGE_VAL, -HUGE_VAL, HUGE_VAL, HUGE_VAL };
  Loaded l = { 0 };
  Geos *g;
  const GEOSPreparedGeometry *prep = NULL;
  gint64 prep_fid = 0;
  GEOSGeometry *coll, *u;
  guint64 n_pairs = 0;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (layer != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!ctx_init (&c, project, layer, error))
    return NULL;
  g = &c.geos;
  if (bbox == NULL)
    bbox = all;

  l.geos = g;
  l.geoms = geoms;
  l.fids = fids;
  l.index = index;
  if (!dothi_store_read_features (dothi_project_get_store (project), c.info->name,
                                  bbox == all ? NULL : bbox, load_feature, &l, cancellable, error))
    goto failed;

  /* Candidate pairs: boxes that meet, each pair once, from the R-tree. */
  sql = sqlite3_mprintf ("SELECT a.pkid, b.pkid FROM \"idx_%w_geom\" AS a CROSS JOIN \"idx_%w_geom\" AS b "
                         "WHERE a.xmin <= ?3 AND a.xmax >= ?1 AND a.ymin <= ?4 AND a.ymax >= ?2 "
                         "AND b.xmin <= a.xmax AND b.xmax >= a.xmin AND b.ymin <= a.ymax "
                         "AND b.ymax >= a.ymin AND b.pkid > a.pkid",
                         c.info->name, c.info->name);
  if (sqlite3_prepare_v2 (c.db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (&c, error);
      goto failed;
    }
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, bbox[i]);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fa = sqlite3_column_int64 (stmt, 0), fb = sqlite3_column_int64 (stmt, 1);
      guint pa = GPOINTER_TO_UINT (g_hash_table_lookup (index, &fa));
      guint pb = GPOINTER_TO_UINT (g_hash_table_lookup (index, &fb));
      const GEOSGeometry *ga, *gb;

      if ((++n_pairs & 0xff) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        goto failed;
      if (pa == 0 || pb == 0)
        continue;
      ga = g_ptr_array_index (geoms, pa - 1);
      gb = g_ptr_array_index (geoms, pb - 1);
      if (prep == NULL || prep_fid != fa)
        {
          if (prep != NULL)
            GEOSPreparedGeom_destroy_r (g->h, prep);
          prep = GEOSPrepare_r (g->h, ga);
          prep_fid = fa;
        }
      /* Neighbours touch; only interiors that meet overlap. */
      if (GEOSPreparedIntersects_r (g->h, prep, gb) == 1 && GEOSPreparedTouches_r (g->h, prep, gb) != 1)
        {
          GEOSGeometry *inter = GEOSIntersection_r (g->h, ga, gb);
          GEOSGeometry *poly = inter != NULL ? polygonal_parts (g, inter) : NULL;
          double area = 0;

          if (poly != NULL)
            GEOSArea_r (g->h, poly, &area);
          if (area > min_area)
            add_problem (problems, g, DOTHI_TOPOLOGY_OVERLAP, fa, fb, area, poly);
          GEOSGeom_destroy_r (g->h, inter);
          GEOSGeom_destroy_r (g->h, poly);
        }
    }
  if (prep != NULL)
    GEOSPreparedGeom_destroy_r (g->h, prep);
  prep = NULL;
  if (rc != SQLITE_DONE)
    {
      set_db_error (&c, error);
      goto failed;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto failed;

  /* Gaps: holes of the union. The geometries move into the collection. */
  coll = keep (g, GEOSGeom_createCollection_r (g->h, GEOS_GEOMETRYCOLLECTION,
                                               (GEOSGeometry **) geoms->pdata, geoms->len));
  g_ptr_array_set_size (geoms, 0);
  u = coll != NULL ? keep (g, GEOSUnaryUnion_r (g->h, coll)) : NULL;
  if (u == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: layer name, GEOS's message */
                   _("Cannot check the topology of layer “%s”: %s"), c.info->name, g->message->str);
      return NULL;
    }
  for (int i = 0; i < GEOSGetNumGeometries_r (g->h, u); i++)
    {
      const GEOSGeometry *part = GEOSGetGeometryN_r (g->h, u, i);

      if (GEOSGeomTypeId_r (g->h, part) != GEOS_POLYGON)
        continue;
      for (int k = 0; k < GEOSGetNumInteriorRings_r (g->h, part); k++)
        {
          const GEOSGeometry *ring = GEOSGetInteriorRingN_r (g->h, part, k);
          GEOSGeometry *hole = GEOSGeom_createPolygon_r (g->h, GEOSGeom_clone_r (g->h, ring), NULL, 0);
          GEOSGeometry *gap;
          double area = 0;
          gint64 neighbour;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              GEOSGeom_destroy_r (g->h, hole);
              return NULL;
            }
          GEOSArea_r (g->h, hole, &area);
          if (area <= min_area)
            {
              GEOSGeom_destroy_r (g->h, hole);
              continue;
            }
          neighbour = gap_neighbour (&c, &l, coll, &hole, error);
          if (neighbour < 0)
            {
              GEOSGeom_destroy_r (g->h, hole);
              return NULL;
            }
          gap = polygonal_parts (g, hole);
          GEOSGeom_destroy_r (g->h, hole);
          for (int m = 0; gap != NULL && m < GEOSGetNumGeometries_r (g->h, gap); m++)
            {
              const GEOSGeometry *piece = GEOSGetGeometryN_r (g->h, gap, m);

              GEOSArea_r (g->h, piece, &area);
              if (area > min_area)
                add_problem (problems, g, DOTHI_TOPOLOGY_GAP, neighbour, 0, area, piece);
            }
          GEOSGeom_destroy_r (g->h, gap);
        }
    }
  return g_steal_pointer (&problems);

failed:
  if (prep != NULL)
    GEOSPreparedGeom_destroy_r (g->h, prep);
  for (guint i = 0; i < geoms->len; i++)
    GEOSGeom_destroy_r (g->h, g_ptr_array_index (geoms, i));
  return NULL;
}
