/* test-parcel.c: splitting and merging parcels of a real project file and
 * undoing them, the refusals (project unchanged), and the topology check's
 * overlaps and gaps with their areas. */
#include "config.h"

#include <geos_c.h>
#include <math.h>
#include <string.h>

#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-parcel.h"
#include "dothi-project.h"
#include "test-util.h"

/* Parcel corners are offsets from here, in EPSG:9218 (metres). */
#define X0 500000.0
#define Y0 1400000.0

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
  char         *layer;
} Fixture;

static char *
square_json (double x0, double y0, double x1, double y1)
{
  char v[4][G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (v[0], sizeof v[0], "%.3f", X0 + x0);
  g_ascii_formatd (v[1], sizeof v[1], "%.3f", Y0 + y0);
  g_ascii_formatd (v[2], sizeof v[2], "%.3f", X0 + x1);
  g_ascii_formatd (v[3], sizeof v[3], "%.3f", Y0 + y1);
  return g_strdup_printf ("{\"type\":\"Polygon\",\"coordinates\":[[[%s,%s],[%s,%s],[%s,%s],"
                          "[%s,%s],[%s,%s]]]}", v[0], v[1], v[2], v[1], v[2], v[3], v[0], v[3],
                          v[0], v[1]);
}

/* A project with one layer "parcels" made of @features (GeoJSON features
 * joined by commas), imported from a GeoJSON file in EPSG:9218. */
static void
make_project (Fixture *f, const char *features)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *source = NULL;
  g_autofree char *json = NULL;
  GPtrArray *reports;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  f->project = dothi_project_create (f->path, "EPSG:9218", &error);
  g_assert_no_error (error);
  source = g_build_filename (f->dir, "parcels.geojson", NULL);
  json = g_strdup_printf ("{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":"
                          "{\"name\":\"urn:ogc:def:crs:EPSG::9218\"}},\"features\":[%s]}", features);
  g_assert_true (g_file_set_contents (source, json, -1, NULL));
  import = dothi_import_new (f->project, source);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  reports = dothi_import_get_reports (import);
  g_assert_cmpuint (reports->len, ==, 1);
  f->layer = g_strdup (((DothiImportReport *) g_ptr_array_index (reports, 0))->table);
  g_assert_cmpstr (f->layer, ==, "parcels");
}

static char *
parcel_json (double x0, double y0, double x1, double y1, int so_to, int so_thua, const char *owner,
             int houses)
{
  g_autofree char *geom = square_json (x0, y0, x1, y1);
  char area[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (area, sizeof area, "%.1f", (x1 - x0) * (y1 - y0));
  return g_strdup_printf ("{\"type\":\"Feature\",\"properties\":{\"so_to\":%d,\"so_thua\":%d,"
                          "\"dien_tich\":%s,\"ten_chu\":\"%s\",\"muc_dich\":\"ODT\",\"so_nha\":%d},"
                          "\"geometry\":%s}", so_to, so_thua, area, owner, houses, geom);
}

/* Sheet 12: A (40 × 30 m, number 5) and B east of it (30 × 30 m, number 7)
 * share an edge; C (number 9) stands apart; D touches A at a corner only;
 * G (number 8) was digitised 2 cm short of B's east edge.
 * Sheet 13 has parcel 40, which sheet 12's numbering must ignore. */
static void
cadastre_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *a = parcel_json (0, 0, 40, 30, 12, 5, "Nguyễn Văn An", 1);
  g_autofree char *b = parcel_json (40, 0, 70, 30, 12, 7, "Trần Thị Bình", 2);
  g_autofree char *c = parcel_json (200, 0, 220, 20, 12, 9, "Lê Văn Cường", 0);
  g_autofree char *d = parcel_json (-20, 30, 0, 50, 12, 3, "Phạm Thị Dung", 0);
  g_autofree char *e = parcel_json (300, 0, 320, 20, 13, 40, "Hoàng Văn Em", 0);
  g_autofree char *g = parcel_json (70.02, 0, 90, 30, 12, 8, "Võ Văn Giang", 0);
  g_autofree char *all = g_strjoin (",", a, b, c, d, e, g, NULL);

  make_project (f, all);
}

/* Topology: P1 and P2 overlap by 2 × 20 m; P3–P6 ring a 20 × 20 m gap. */
static void
topology_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *p1 = parcel_json (0, 0, 20, 20, 1, 1, "A", 0);
  g_autofree char *p2 = parcel_json (18, 0, 40, 20, 1, 2, "B", 0);
  g_autofree char *p3 = parcel_json (0, 20, 40, 30, 1, 3, "C", 0);
  g_autofree char *p4 = parcel_json (0, 30, 10, 50, 1, 4, "D", 0);
  g_autofree char *p5 = parcel_json (30, 30, 40, 50, 1, 5, "E", 0);
  g_autofree char *p6 = parcel_json (0, 50, 40, 60, 1, 6, "F", 0);
  g_autofree char *all = g_strjoin (",", p1, p2, p3, p4, p5, p6, NULL);

  make_project (f, all);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (f->project != NULL)
    dothi_project_close (f->project);
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->layer);
}

/* ---- reading the layer back ------------------------------------------- */

typedef struct {
  gint64  fid;
  gint64  so_to;
  gint64  so_thua;
  double  dien_tich;
  char   *ten_chu;
  gint64  so_nha;
  double  area;     /* of the geometry, by GEOS */
  int     n_polygons;
  int     n_holes;
  GBytes *wkb;
} Row;

static void
row_free (Row *row)
{
  g_free (row->ten_chu);
  g_bytes_unref (row->wkb);
  g_free (row);
}

typedef struct {
  DothiLayerInfo     *info;
  GEOSContextHandle_t geos;
  GPtrArray          *rows;
} Reader;

static gboolean
read_row (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
          gpointer user_data, GError **error)
{
  Reader *r = user_data;
  Row *row = g_new0 (Row, 1);
  GEOSWKBReader *reader = GEOSWKBReader_create_r (r->geos);
  GEOSGeometry *geom = GEOSWKBReader_read_r (r->geos, reader, wkb, wkb_len);

  row->fid = fid;
  row->so_to = values[dothi_layer_info_find_field (r->info, "so_to")].v.i;
  row->so_thua = values[dothi_layer_info_find_field (r->info, "so_thua")].v.i;
  row->dien_tich = values[dothi_layer_info_find_field (r->info, "dien_tich")].v.d;
  row->ten_chu = g_strdup (values[dothi_layer_info_find_field (r->info, "ten_chu")].v.s);
  row->so_nha = values[dothi_layer_info_find_field (r->info, "so_nha")].v.i;
  g_assert_nonnull (geom);
  g_assert_cmpint (GEOSGeomTypeId_r (r->geos, geom), ==, GEOS_MULTIPOLYGON);
  GEOSArea_r (r->geos, geom, &row->area);
  row->n_polygons = GEOSGetNumGeometries_r (r->geos, geom);
  row->n_holes = GEOSGetNumInteriorRings_r (r->geos, GEOSGetGeometryN_r (r->geos, geom, 0));
  row->wkb = g_bytes_new (wkb, wkb_len);
  GEOSGeom_destroy_r (r->geos, geom);
  GEOSWKBReader_destroy_r (r->geos, reader);
  g_ptr_array_add (r->rows, row);
  return TRUE;
}

/* Every parcel, in fid order. */
static GPtrArray *
read_rows (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  Reader r = { 0 };

  r.info = dothi_project_get_layer (f->project, f->layer, &error);
  g_assert_no_error (error);
  r.geos = GEOS_init_r ();
  r.rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  dothi_store_read_features (dothi_project_get_store (f->project), f->layer, NULL, read_row, &r,
                             NULL, &error);
  g_assert_no_error (error);
  GEOS_finish_r (r.geos);
  dothi_layer_info_free (r.info);
  return r.rows;
}

static const Row *
find_number (GPtrArray *rows, gint64 so_to, gint64 so_thua)
{
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *row = g_ptr_array_index (rows, i);

      if (row->so_to == so_to && row->so_thua == so_thua)
        return row;
    }
  return NULL;
}

static const Row *
find_fid (GPtrArray *rows, gint64 fid)
{
  for (guint i = 0; i < rows->len; i++)
    if (((const Row *) g_ptr_array_index (rows, i))->fid == fid)
      return g_ptr_array_index (rows, i);
  return NULL;
}

static gint64
fid_of (Fixture *f, gint64 so_to, gint64 so_thua)
{
  g_autoptr(GPtrArray) rows = read_rows (f);
  const Row *row = find_number (rows, so_to, so_thua);

  g_assert_nonnull (row);
  return row->fid;
}

static char *
checksum (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  char *sum = dothi_project_layer_checksum (f->project, f->layer, &error);

  g_assert_no_error (error);
  return sum;
}

/* ISO WKB of a line string through @n (x, y) offsets. */
static GBytes *
line_wkb (const double *xy, guint n)
{
  GByteArray *out = g_byte_array_new ();
  guint8 order = 1;
  guint32 type = 2, count = n;

  g_byte_array_append (out, &order, 1);
  g_byte_array_append (out, (guint8 *) &type, 4);
  g_byte_array_append (out, (guint8 *) &count, 4);
  for (guint i = 0; i < n; i++)
    {
      double p[2] = { X0 + xy[2 * i], Y0 + xy[2 * i + 1] };

      g_byte_array_append (out, (guint8 *) p, sizeof p);
    }
  return g_byte_array_free_to_bytes (out);
}

/* Area of the symmetric difference between the union of @pieces and
 * @orig (WKB), m². */
static double
union_difference (GPtrArray *pieces, GBytes *orig)
{
  GEOSContextHandle_t h = GEOS_init_r ();
  GEOSWKBReader *reader = GEOSWKBReader_create_r (h);
  g_autofree GEOSGeometry **parts = g_new0 (GEOSGeometry *, pieces->len);
  GEOSGeometry *coll, *u, *o, *diff;
  gsize len;
  const guint8 *data;
  double area = -1;

  for (guint i = 0; i < pieces->len; i++)
    {
      data = g_bytes_get_data (g_ptr_array_index (pieces, i), &len);
      parts[i] = GEOSWKBReader_read_r (h, reader, data, len);
    }
  coll = GEOSGeom_createCollection_r (h, GEOS_GEOMETRYCOLLECTION, parts, pieces->len);
  u = GEOSUnaryUnion_r (h, coll);
  data = g_bytes_get_data (orig, &len);
  o = GEOSWKBReader_read_r (h, reader, data, len);
  diff = GEOSSymDifference_r (h, u, o);
  GEOSArea_r (h, diff, &area);
  GEOSGeom_destroy_r (h, diff);
  GEOSGeom_destroy_r (h, o);
  GEOSGeom_destroy_r (h, u);
  GEOSGeom_destroy_r (h, coll);
  GEOSWKBReader_destroy_r (h, reader);
  GEOS_finish_r (h);
  return area;
}

static void
assert_undo_restores (Fixture *f, const char *before)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;
  gint64 undo;

  undo = dothi_edit_undo_sync (f->project, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (undo, >, 0);
  after = checksum (f);
  g_assert_cmpstr (after, ==, before);
}

/* ---- rules ------------------------------------------------------------------ */

static void
test_rules_default (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, f->layer, &error);
  g_autoptr(DothiParcelRules) rules = NULL;

  g_assert_no_error (error);
  rules = dothi_parcel_rules_new_default (info);
  g_assert_cmpint (dothi_parcel_rules_get (rules, "dien_tich"), ==, DOTHI_FIELD_RULE_AREA);
  g_assert_cmpint (dothi_parcel_rules_get (rules, "so_thua"), ==, DOTHI_FIELD_RULE_NEXT_NUMBER);
  g_assert_cmpint (dothi_parcel_rules_get (rules, "so_to"), ==, DOTHI_FIELD_RULE_COPY);
  g_assert_cmpint (dothi_parcel_rules_get (rules, "ten_chu"), ==, DOTHI_FIELD_RULE_COPY);
  g_assert_cmpint (dothi_parcel_rules_get (rules, "no_such_field"), ==, DOTHI_FIELD_RULE_COPY);
  dothi_parcel_rules_set (rules, "ten_chu", DOTHI_FIELD_RULE_CLEAR);
  g_assert_cmpint (dothi_parcel_rules_get (rules, "ten_chu"), ==, DOTHI_FIELD_RULE_CLEAR);

  /* Other spellings of the same fields. */
  {
    g_autoptr(DothiLayerInfo) other = dothi_layer_info_new ();
    g_autoptr(DothiParcelRules) r2 = NULL;

    dothi_layer_info_add_field (other, "AREA", DOTHI_FIELD_REAL);
    dothi_layer_info_add_field (other, "dientich", DOTHI_FIELD_REAL);
    dothi_layer_info_add_field (other, "thua", DOTHI_FIELD_TEXT);
    dothi_layer_info_add_field (other, "parcel_no", DOTHI_FIELD_INTEGER);
    dothi_layer_info_add_field (other, "owner", DOTHI_FIELD_TEXT);
    r2 = dothi_parcel_rules_new_default (other);
    g_assert_cmpint (dothi_parcel_rules_get (r2, "AREA"), ==, DOTHI_FIELD_RULE_AREA);
    g_assert_cmpint (dothi_parcel_rules_get (r2, "dientich"), ==, DOTHI_FIELD_RULE_AREA);
    g_assert_cmpint (dothi_parcel_rules_get (r2, "thua"), ==, DOTHI_FIELD_RULE_NEXT_NUMBER);
    g_assert_cmpint (dothi_parcel_rules_get (r2, "parcel_no"), ==, DOTHI_FIELD_RULE_NEXT_NUMBER);
    g_assert_cmpint (dothi_parcel_rules_get (r2, "owner"), ==, DOTHI_FIELD_RULE_COPY);
  }
}

/* ---- split ------------------------------------------------------------------ */

static void
test_split_two (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) new_fids = NULL;
  g_autoptr(GPtrArray) before_rows = read_rows (f);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
  g_autofree char *before = checksum (f);
  g_autofree char *label = NULL;
  const double xy[] = { 10, -5, 10, 35 };
  g_autoptr(GBytes) line = line_wkb (xy, 2);
  const Row *orig = find_number (before_rows, 12, 5);
  const Row *left, *right;
  gint64 action;

  g_assert_nonnull (orig);
  action = dothi_parcel_split_sync (f->project, f->layer, orig->fid, line, NULL, &new_fids, &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  g_assert_nonnull (new_fids);
  g_assert_cmpuint (new_fids->len, ==, 2);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Split parcel 5");

  rows = read_rows (f);
  g_assert_cmpuint (rows->len, ==, before_rows->len + 1);
  g_assert_null (find_fid (rows, orig->fid));
  /* Sheet 12's largest number is 9 (sheet 13's 40 does not count); the
   * west piece comes first. */
  left = find_number (rows, 12, 10);
  right = find_number (rows, 12, 11);
  g_assert_nonnull (left);
  g_assert_nonnull (right);
  g_assert_cmpint (left->fid, ==, g_array_index (new_fids, gint64, 0));
  g_assert_cmpint (right->fid, ==, g_array_index (new_fids, gint64, 1));
  g_assert_cmpfloat_with_epsilon (left->area, 300.0, 0.01);
  g_assert_cmpfloat_with_epsilon (right->area, 900.0, 0.01);
  g_assert_cmpfloat_with_epsilon (left->area + right->area, orig->area, 0.01);
  g_assert_cmpfloat_with_epsilon (left->dien_tich, 300.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (right->dien_tich, 900.0, 1e-9);
  g_assert_cmpstr (left->ten_chu, ==, "Nguyễn Văn An");
  g_assert_cmpstr (right->ten_chu, ==, "Nguyễn Văn An");
  g_assert_cmpint (left->so_nha, ==, 1);
  g_assert_cmpint (right->so_to, ==, 12);
  g_assert_cmpint (left->n_polygons, ==, 1);
  /* No drift: the pieces rebuild the original. */
  g_ptr_array_add (pieces, left->wkb);
  g_ptr_array_add (pieces, right->wkb);
  g_assert_cmpfloat (union_difference (pieces, orig->wkb), <=, 1e-6);

  assert_undo_restores (f, before);
}

static void
test_split_miss (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *after = NULL;
  g_autofree char *fid_text = NULL;
  const double miss[] = { 100, -5, 100, 35 };
  const double dangle[] = { 10, -5, 10, 15 };   /* enters, never leaves */
  g_autoptr(GBytes) line = line_wkb (miss, 2);
  g_autoptr(GBytes) half = line_wkb (dangle, 2);
  g_autoptr(GBytes) point = NULL;
  gint64 fid = fid_of (f, 12, 5);
  gint64 action;

  fid_text = g_strdup_printf ("parcel %lld of “parcels”", (long long) fid);
  action = dothi_parcel_split_sync (f->project, f->layer, fid, line, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_cmpint (action, ==, 0);
  g_assert_nonnull (strstr (error->message, fid_text));
  g_clear_error (&error);

  action = dothi_parcel_split_sync (f->project, f->layer, fid, half, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, fid_text));
  g_clear_error (&error);

  /* A point is no cutting line; a missing parcel is not found. */
  point = g_bytes_new ("\x01\x01\x00\x00\x00" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0", 21);
  action = dothi_parcel_split_sync (f->project, f->layer, fid, point, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  action = dothi_parcel_split_sync (f->project, f->layer, 9999, line, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "9999"));
  g_clear_error (&error);

  after = checksum (f);
  g_assert_cmpstr (after, ==, before);
}

static void
test_split_zigzag (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) new_fids = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) before_rows = read_rows (f);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
  g_autoptr(DothiParcelRules) rules = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *before = checksum (f);
  /* Down through the parcel, up out of it, down through it again: three
   * pieces, 450, 300 and 450 m². */
  const double xy[] = { 10, -10, 20, 40, 30, -10 };
  g_autoptr(GBytes) line = line_wkb (xy, 3);
  const Row *orig = find_number (before_rows, 12, 5);
  const double expect_area[] = { 450, 450, 300 };   /* numbers 10, 11, 12 */
  double sum = 0;

  info = dothi_project_get_layer (f->project, f->layer, &error);
  g_assert_no_error (error);
  rules = dothi_parcel_rules_new_default (info);
  dothi_parcel_rules_set (rules, "ten_chu", DOTHI_FIELD_RULE_CLEAR);
  dothi_parcel_split_sync (f->project, f->layer, orig->fid, line, rules, &new_fids, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (new_fids->len, ==, 3);

  rows = read_rows (f);
  /* Numbered north first, then west: the two outer trapezoids (centroids
   * above mid-height) before the middle one. */
  for (guint k = 0; k < 3; k++)
    {
      const Row *piece = find_number (rows, 12, 10 + k);

      g_assert_nonnull (piece);
      g_assert_cmpint (piece->fid, ==, g_array_index (new_fids, gint64, k));
      g_assert_cmpfloat_with_epsilon (piece->area, expect_area[k], 0.01);
      g_assert_cmpfloat_with_epsilon (piece->dien_tich, expect_area[k], 0.05);
      g_assert_null (piece->ten_chu);
      sum += piece->area;
      g_ptr_array_add (pieces, piece->wkb);
    }
  g_assert_cmpfloat_with_epsilon (sum, orig->area, 0.01);
  g_assert_cmpfloat (union_difference (pieces, orig->wkb), <=, 1e-6);
  assert_undo_restores (f, before);
}

/* ---- merge ------------------------------------------------------------------ */

static void
test_merge_adjacent (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(DothiParcelRules) rules = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *label = NULL;
  gint64 fids[2], new_fid = 0, action;
  const Row *merged;

  /* B first: its number is the larger, its owner the one copied. */
  fids[0] = fid_of (f, 12, 7);
  fids[1] = fid_of (f, 12, 5);
  info = dothi_project_get_layer (f->project, f->layer, &error);
  g_assert_no_error (error);
  rules = dothi_parcel_rules_new_default (info);
  dothi_parcel_rules_set (rules, "so_nha", DOTHI_FIELD_RULE_SUM);
  action = dothi_parcel_merge_sync (f->project, f->layer, fids, 2, 0.0, rules, &new_fid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  g_assert_cmpint (new_fid, >, 0);
  label = dothi_edit_dup_undo_label (f->project);
  g_assert_cmpstr (label, ==, "Merge parcels");

  rows = read_rows (f);
  g_assert_null (find_fid (rows, fids[0]));
  g_assert_null (find_fid (rows, fids[1]));
  merged = find_fid (rows, new_fid);
  g_assert_nonnull (merged);
  g_assert_cmpint (merged->so_thua, ==, 5);
  g_assert_cmpint (merged->so_to, ==, 12);
  g_assert_cmpfloat_with_epsilon (merged->area, 2100.0, 0.01);
  g_assert_cmpfloat_with_epsilon (merged->dien_tich, 2100.0, 1e-9);
  g_assert_cmpstr (merged->ten_chu, ==, "Trần Thị Bình");
  g_assert_cmpint (merged->so_nha, ==, 3);
  /* One polygon without the shared edge as a hole or slit. */
  g_assert_cmpint (merged->n_polygons, ==, 1);
  g_assert_cmpint (merged->n_holes, ==, 0);

  assert_undo_restores (f, before);
}

static void
test_merge_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *after = NULL;
  g_autofree char *named = NULL;
  gint64 fids[3];
  gint64 action;

  /* A and C are far apart: A is named. */
  fids[0] = fid_of (f, 12, 5);
  fids[1] = fid_of (f, 12, 9);
  named = g_strdup_printf ("Parcel %lld of “parcels”", (long long) fids[0]);
  action = dothi_parcel_merge_sync (f->project, f->layer, fids, 2, 0.05, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_cmpint (action, ==, 0);
  g_assert_nonnull (strstr (error->message, named));
  g_clear_error (&error);

  /* D touches A at one corner only: not a shared boundary. */
  fids[1] = fid_of (f, 12, 3);
  action = dothi_parcel_merge_sync (f->project, f->layer, fids, 2, 0.0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, named));
  g_clear_error (&error);

  /* A, B and C: C is the one left out. */
  fids[1] = fid_of (f, 12, 7);
  fids[2] = fid_of (f, 12, 9);
  g_clear_pointer (&named, g_free);
  named = g_strdup_printf ("Parcel %lld of “parcels”", (long long) fids[2]);
  action = dothi_parcel_merge_sync (f->project, f->layer, fids, 3, 0.0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, named));
  g_clear_error (&error);

  /* One parcel, or the same twice, is no merge. */
  action = dothi_parcel_merge_sync (f->project, f->layer, fids, 1, 0.0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  fids[1] = fids[0];
  action = dothi_parcel_merge_sync (f->project, f->layer, fids, 2, 0.0, NULL, NULL, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);

  after = checksum (f);
  g_assert_cmpstr (after, ==, before);
}

/* B and G are 2 cm apart: merged with a 5 cm tolerance (the sliver goes),
 * refused without one. */
static void
test_merge_tolerance (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *before = checksum (f);
  g_autofree char *after = NULL;
  g_autofree char *named = NULL;
  gint64 fids[2], new_fid = 0;
  const Row *merged;

  fids[0] = fid_of (f, 12, 7);
  fids[1] = fid_of (f, 12, 8);
  named = g_strdup_printf ("Parcel %lld of “parcels”", (long long) fids[0]);
  dothi_parcel_merge_sync (f->project, f->layer, fids, 2, 0.0, NULL, &new_fid, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, named));
  g_clear_error (&error);
  after = checksum (f);
  g_assert_cmpstr (after, ==, before);

  dothi_parcel_merge_sync (f->project, f->layer, fids, 2, 0.05, NULL, &new_fid, &error);
  g_assert_no_error (error);
  rows = read_rows (f);
  merged = find_fid (rows, new_fid);
  g_assert_nonnull (merged);
  g_assert_cmpint (merged->so_thua, ==, 7);
  g_assert_cmpint (merged->n_polygons, ==, 1);
  g_assert_cmpint (merged->n_holes, ==, 0);
  g_assert_cmpfloat_with_epsilon (merged->area, 1500.0, 0.01);
  g_assert_cmpfloat_with_epsilon (merged->dien_tich, 1500.0, 1e-9);
}

/* Split, then merge the pieces back: the same area and one polygon. */
static void
test_split_then_merge (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) new_fids = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  const double xy[] = { 10, -10, 20, 40, 30, -10 };
  g_autoptr(GBytes) line = line_wkb (xy, 3);
  gint64 merged_fid = 0;
  const Row *merged;

  dothi_parcel_split_sync (f->project, f->layer, fid_of (f, 12, 5), line, NULL, &new_fids, &error);
  g_assert_no_error (error);
  dothi_parcel_merge_sync (f->project, f->layer, (gint64 *) new_fids->data, new_fids->len, 0.0, NULL,
                           &merged_fid, &error);
  g_assert_no_error (error);
  rows = read_rows (f);
  merged = find_fid (rows, merged_fid);
  g_assert_nonnull (merged);
  g_assert_cmpint (merged->so_thua, ==, 10);
  g_assert_cmpfloat_with_epsilon (merged->area, 1200.0, 1e-6);
  g_assert_cmpint (merged->n_polygons, ==, 1);
  g_assert_cmpint (merged->n_holes, ==, 0);
}

/* ---- topology --------------------------------------------------------------- */

static void
test_topology (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  const double far_box[4] = { X0 + 1000, Y0 + 1000, X0 + 1100, Y0 + 1100 };
  const double low_box[4] = { X0, Y0, X0 + 40, Y0 + 10 };
  gint64 p1 = fid_of (f, 1, 1), p2 = fid_of (f, 1, 2);
  guint n_overlaps = 0, n_gaps = 0;

  problems = dothi_parcel_check_topology_sync (f->project, f->layer, NULL, 0.01, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (problems);
  for (guint i = 0; i < problems->len; i++)
    {
      const DothiTopologyProblem *p = g_ptr_array_index (problems, i);

      g_assert_nonnull (p->wkb);
      if (p->kind == DOTHI_TOPOLOGY_OVERLAP)
        {
          n_overlaps++;
          g_assert_cmpint (p->fid_a, ==, MIN (p1, p2));
          g_assert_cmpint (p->fid_b, ==, MAX (p1, p2));
          g_assert_cmpfloat_with_epsilon (p->area, 40.0, 0.01);
        }
      else
        {
          g_autoptr(GPtrArray) rows = read_rows (f);
          const Row *neighbour = find_fid (rows, p->fid_a);

          n_gaps++;
          g_assert_cmpint (p->kind, ==, DOTHI_TOPOLOGY_GAP);
          g_assert_cmpfloat_with_epsilon (p->area, 400.0, 0.01);
          g_assert_nonnull (neighbour);
          g_assert_cmpint (neighbour->so_thua, >=, 3);
        }
    }
  g_assert_cmpuint (n_overlaps, ==, 1);
  g_assert_cmpuint (n_gaps, ==, 1);

  /* A box with no parcels, and one holding only the overlap. */
  none = dothi_parcel_check_topology_sync (f->project, f->layer, far_box, 0.01, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);
  problems = dothi_parcel_check_topology_sync (f->project, f->layer, low_box, 0.01, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpint (((DothiTopologyProblem *) g_ptr_array_index (problems, 0))->kind, ==,
                   DOTHI_TOPOLOGY_OVERLAP);

  /* A larger threshold hides both; a cancelled check says so. */
  g_clear_pointer (&problems, g_ptr_array_unref);
  problems = dothi_parcel_check_topology_sync (f->project, f->layer, NULL, 500, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);
  g_cancellable_cancel (cancelled);
  problems = dothi_parcel_check_topology_sync (f->project, f->layer, NULL, 0.01, cancelled, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (problems);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add ("/parcel/rules/default", Fixture, NULL, cadastre_set_up, test_rules_default,
              fixture_tear_down);
  g_test_add ("/parcel/split/two", Fixture, NULL, cadastre_set_up, test_split_two, fixture_tear_down);
  g_test_add ("/parcel/split/miss", Fixture, NULL, cadastre_set_up, test_split_miss, fixture_tear_down);
  g_test_add ("/parcel/split/zigzag", Fixture, NULL, cadastre_set_up, test_split_zigzag,
              fixture_tear_down);
  g_test_add ("/parcel/split/then-merge", Fixture, NULL, cadastre_set_up, test_split_then_merge,
              fixture_tear_down);
  g_test_add ("/parcel/merge/adjacent", Fixture, NULL, cadastre_set_up, test_merge_adjacent,
              fixture_tear_down);
  g_test_add ("/parcel/merge/tolerance", Fixture, NULL, cadastre_set_up, test_merge_tolerance,
              fixture_tear_down);
  g_test_add ("/parcel/merge/refused", Fixture, NULL, cadastre_set_up, test_merge_refused,
              fixture_tear_down);
  g_test_add ("/parcel/topology/overlap-and-gap", Fixture, NULL, topology_set_up, test_topology,
              fixture_tear_down);
  return g_test_run ();
}
