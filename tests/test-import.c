/* test-import.c: the GDAL import into a project, over the real sample data
 * and over files in legacy Vietnamese encodings that the test writes itself. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-encoding.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-layer-info.h"
#include "dothi-project.h"
#include "dothi-store.h"
#include "dothi-spatialite-store.h"
#include "dothi-style.h"
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>
#include <math.h>
#include <string.h>

static GThread *main_thread;

/* ---- fixture ----------------------------------------------------------- */

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "city.dothi", NULL);
  f->project = dothi_project_create (f->path, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->project);
  g_assert_cmpint (dothi_project_get_srid (f->project), ==, 9218);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* ---- small helpers ----------------------------------------------------- */

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static void
assert_nfc (const char *s)
{
  g_autofree char *nfc = NULL;

  g_assert_nonnull (s);
  g_assert_true (g_utf8_validate (s, -1, NULL));
  nfc = g_utf8_normalize (s, -1, G_NORMALIZE_NFC);
  g_assert_cmpstr (s, ==, nfc);
}

static char *
write_file (const char *dir, const char *name, const char *contents, gssize len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, len, &error);
  g_assert_no_error (error);
  return path;
}

static char *
copy_file (const char *from, const char *dir, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (from, &contents, &len, &error);
  g_assert_no_error (error);
  return write_file (dir, name, contents, (gssize) len);
}

/* ---- running an import ------------------------------------------------- */

typedef struct {
  const char        *encoding;    /* NULL: auto */
  const char        *src_crs;
  const char *const *caps;
  const char *const *layers;
  gboolean           make_valid;
  const char        *title;
} Options;

static DothiImport *
new_import (Fixture *f, const char *source, const Options *opt)
{
  DothiImport *imp = dothi_import_new (f->project, source);

  g_assert_nonnull (imp);
  if (opt != NULL)
    {
      dothi_import_set_encoding (imp, opt->encoding);
      if (opt->src_crs)
        dothi_import_set_source_crs (imp, opt->src_crs);
      if (opt->caps)
        dothi_import_set_caps_fields (imp, opt->caps);
      if (opt->layers)
        dothi_import_set_layers (imp, opt->layers);
      dothi_import_set_make_valid (imp, opt->make_valid);
      if (opt->title)
        dothi_import_set_target_name (imp, opt->title);
    }
  return imp;
}

static DothiImport *
import_ok (Fixture *f, const char *source, const Options *opt)
{
  g_autoptr(GError) error = NULL;
  DothiImport *imp = new_import (f, source, opt);
  gboolean ok = dothi_import_run_sync (imp, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  return imp;
}

static GError *
import_fails (Fixture *f, const char *source, const Options *opt)
{
  g_autoptr(DothiImport) imp = new_import (f, source, opt);
  GError *error = NULL;
  gboolean ok = dothi_import_run_sync (imp, NULL, NULL, NULL, &error);

  g_assert_false (ok);
  g_assert_nonnull (error);
  g_test_message ("expected failure: %s", error->message);
  return error;
}

static DothiImportReport *
find_report (DothiImport *imp, const char *source_layer)
{
  GPtrArray *reports = dothi_import_get_reports (imp);

  g_assert_nonnull (reports);
  for (guint i = 0; i < reports->len; i++)
    {
      DothiImportReport *r = g_ptr_array_index (reports, i);
      if (g_strcmp0 (r->source_layer, source_layer) == 0)
        return r;
    }
  g_test_message ("no report for source layer “%s”", source_layer);
  g_assert_not_reached ();
  return NULL;
}

/* The only report of a single-layer import. */
static DothiImportReport *
only_report (DothiImport *imp)
{
  GPtrArray *reports = dothi_import_get_reports (imp);

  g_assert_nonnull (reports);
  g_assert_cmpuint (reports->len, ==, 1);
  return g_ptr_array_index (reports, 0);
}

static guint
n_layers (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (f->project, &error);

  g_assert_no_error (error);
  g_assert_nonnull (layers);
  return layers->len;
}

/* ---- reading a layer back through DothiStore --------------------------- */

typedef struct {
  gint64       fid;
  DothiValue  *values;
  OGRGeometryH geom;
} Row;

typedef struct {
  DothiLayerInfo *info;
  GPtrArray      *rows;
} Table;

static void
table_free (Table *t)
{
  for (guint r = 0; r < t->rows->len; r++)
    {
      Row *row = g_ptr_array_index (t->rows, r);
      for (guint i = 0; i < t->info->fields->len; i++)
        {
          const DothiField *fld = g_ptr_array_index (t->info->fields, i);
          if (row->values[i].is_null)
            continue;
          if (fld->type == DOTHI_FIELD_BLOB)
            g_free ((gpointer) row->values[i].v.b.data);
          else if (fld->type == DOTHI_FIELD_TEXT || fld->type == DOTHI_FIELD_DATE
                   || fld->type == DOTHI_FIELD_DATETIME)
            g_free ((gpointer) row->values[i].v.s);
        }
      g_free (row->values);
      if (row->geom)
        OGR_G_DestroyGeometry (row->geom);
      g_free (row);
    }
  g_ptr_array_unref (t->rows);
  dothi_layer_info_free (t->info);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Table, table_free)

static gboolean
collect_row (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
             gpointer user_data, GError **error)
{
  Table *t = user_data;
  Row *row = g_new0 (Row, 1);
  guint nf = t->info->fields->len;

  row->fid = fid;
  row->values = g_new0 (DothiValue, MAX (nf, 1));
  for (guint i = 0; i < nf; i++)
    {
      const DothiField *fld = g_ptr_array_index (t->info->fields, i);
      row->values[i] = values[i];
      if (values[i].is_null)
        continue;
      if (fld->type == DOTHI_FIELD_BLOB)
        row->values[i].v.b.data = g_memdup2 (values[i].v.b.data, values[i].v.b.len);
      else if (fld->type == DOTHI_FIELD_TEXT || fld->type == DOTHI_FIELD_DATE
               || fld->type == DOTHI_FIELD_DATETIME)
        row->values[i].v.s = g_strdup (values[i].v.s);
    }
  if (wkb != NULL)
    {
      g_assert_cmpint (OGR_G_CreateFromWkb (wkb, NULL, &row->geom, (int) wkb_len), ==, OGRERR_NONE);
      g_assert_nonnull (row->geom);
    }
  g_ptr_array_add (t->rows, row);
  return TRUE;
}

static Table *
read_table (Fixture *f, const char *name)
{
  g_autoptr(GError) error = NULL;
  Table *t = g_new0 (Table, 1);
  gboolean ok;

  t->info = dothi_project_get_layer (f->project, name, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t->info);
  t->rows = g_ptr_array_new ();   /* rows freed by table_free() */
  ok = dothi_store_read_features (dothi_project_get_store (f->project), name, NULL,
                                  collect_row, t, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (t->info->feature_count, ==, (gint64) t->rows->len);
  return t;
}

static int
field_index (const Table *t, const char *name)
{
  int i = dothi_layer_info_find_field (t->info, name);

  if (i < 0)
    {
      g_test_message ("layer “%s” has no field “%s”; it has:", t->info->name, name);
      for (guint k = 0; k < t->info->fields->len; k++)
        g_test_message ("  “%s”", ((DothiField *) g_ptr_array_index (t->info->fields, k))->name);
    }
  g_assert_cmpint (i, >=, 0);
  return i;
}

static DothiFieldType
field_type (const Table *t, const char *name)
{
  const DothiField *fld = g_ptr_array_index (t->info->fields, field_index (t, name));
  return fld->type;
}

static Row *
row_at (const Table *t, guint i)
{
  g_assert_cmpuint (i, <, t->rows->len);
  return g_ptr_array_index (t->rows, i);
}

static const char *
row_text (const Table *t, const Row *row, const char *name)
{
  int i = field_index (t, name);

  g_assert_cmpint (field_type (t, name), ==, DOTHI_FIELD_TEXT);
  return row->values[i].is_null ? NULL : row->values[i].v.s;
}

static gboolean
row_is_null (const Table *t, const Row *row, const char *name)
{
  return row->values[field_index (t, name)].is_null;
}

static double
row_real (const Table *t, const Row *row, const char *name)
{
  int i = field_index (t, name);

  g_assert_cmpint (field_type (t, name), ==, DOTHI_FIELD_REAL);
  g_assert_false (row->values[i].is_null);
  return row->values[i].v.d;
}

static gint64
row_int (const Table *t, const Row *row, const char *name)
{
  int i = field_index (t, name);
  DothiFieldType type = field_type (t, name);

  g_assert_true (type == DOTHI_FIELD_INTEGER || type == DOTHI_FIELD_BOOLEAN);
  g_assert_false (row->values[i].is_null);
  return row->values[i].v.i;
}

/* The first row whose text field @name is @value. */
static Row *
find_row (const Table *t, const char *name, const char *value)
{
  for (guint r = 0; r < t->rows->len; r++)
    {
      Row *row = g_ptr_array_index (t->rows, r);
      if (g_strcmp0 (row_text (t, row, name), value) == 0)
        return row;
    }
  g_test_message ("no row of “%s” has %s = “%s”", t->info->name, name, value);
  g_assert_not_reached ();
  return NULL;
}

static void
assert_all_text_nfc (const Table *t)
{
  for (guint i = 0; i < t->info->fields->len; i++)
    assert_nfc (((DothiField *) g_ptr_array_index (t->info->fields, i))->name);
  assert_nfc (t->info->title);
  for (guint r = 0; r < t->rows->len; r++)
    {
      Row *row = g_ptr_array_index (t->rows, r);
      for (guint i = 0; i < t->info->fields->len; i++)
        {
          const DothiField *fld = g_ptr_array_index (t->info->fields, i);
          if (fld->type == DOTHI_FIELD_TEXT && !row->values[i].is_null)
            assert_nfc (row->values[i].v.s);
        }
    }
}

/* The first point, line or ring inside @geom (borrowed). */
static OGRGeometryH
first_simple_part (OGRGeometryH geom)
{
  OGRGeometryH g = geom;

  g_assert_nonnull (g);
  for (;;)
    {
      OGRwkbGeometryType t = wkbFlatten (OGR_G_GetGeometryType (g));
      if (t == wkbPoint || t == wkbLineString || t == wkbLinearRing)
        return g;
      g_assert_cmpint (OGR_G_GetGeometryCount (g), >, 0);
      g = OGR_G_GetGeometryRef (g, 0);
    }
}

/* ---- the project's state, for "unchanged" ------------------------------ */

static sqlite3 *
open_db (Fixture *f)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  return db;
}

static void
db_close (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static char *
db_text (sqlite3 *db, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  char *text = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_nonnull (stmt);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  return text;
}

static gint64
db_int (sqlite3 *db, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_nonnull (stmt);
  rc = sqlite3_step (stmt);
  g_assert_cmpint (rc, ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

/* Every layer with its checksum, the registry, the schema and Dothi's
 * history tables, as one string. */
static char *
project_state (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (f->project, &error);
  GString *s = g_string_new (NULL);
  sqlite3 *db;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_no_error (error);
  for (guint i = 0; i < layers->len; i++)
    {
      DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_autofree char *sum = dothi_project_layer_checksum (f->project, info->name, &error);
      g_assert_no_error (error);
      g_string_append_printf (s, "layer %s “%s” %s %" G_GINT64_FORMAT " %s\n", info->name,
                              info->title, dothi_geometry_kind_to_string (info->kind),
                              info->feature_count, sum);
    }
  db = open_db (f);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (s, "master %s %s %s\n", sqlite3_column_text (stmt, 0),
                            sqlite3_column_text (stmt, 1), sqlite3_column_text (stmt, 2));
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_string_append_printf (s, "actions %" G_GINT64_FORMAT "\n", db_int (db, "SELECT count(*) FROM dothi_actions"));
  g_string_append_printf (s, "audit %" G_GINT64_FORMAT "\n", db_int (db, "SELECT count(*) FROM dothi_audit"));
  g_string_append_printf (s, "fields %" G_GINT64_FORMAT "\n", db_int (db, "SELECT count(*) FROM dothi_fields"));
  g_string_append_printf (s, "geometry_columns %" G_GINT64_FORMAT "\n",
                          db_int (db, "SELECT count(*) FROM geometry_columns"));
  db_close (db);
  return g_string_free (s, FALSE);
}

/* ---- writing small sources with GDAL ----------------------------------- */

typedef struct {
  const char   *name;   /* raw bytes, as the file should hold them */
  OGRFieldType  type;
} FieldSpec;

/* Writes one layer with @n_rows rows: @values holds n_rows × n_fields raw
 * strings (NULL for NULL), @wkts one WKT per row (NULL for none). */
static void
write_layer (const char *driver, const char *path, const char *layer_name, int epsg,
             OGRwkbGeometryType gtype, const char *const *dsco, const char *const *lco,
             const FieldSpec *fields, guint n_fields,
             const char *const *wkts, const char *const *values, guint n_rows)
{
  GDALDriverH drv = GDALGetDriverByName (driver);
  GDALDatasetH ds;
  OGRLayerH layer;
  OGRSpatialReferenceH srs = NULL;

  g_assert_nonnull (drv);
  ds = GDALCreate (drv, path, 0, 0, 0, GDT_Unknown, (char **) dsco);
  g_assert_nonnull (ds);
  if (epsg != 0)
    {
      srs = OSRNewSpatialReference (NULL);
      g_assert_cmpint (OSRImportFromEPSG (srs, epsg), ==, OGRERR_NONE);
      OSRSetAxisMappingStrategy (srs, OAMS_TRADITIONAL_GIS_ORDER);
    }
  layer = GDALDatasetCreateLayer (ds, layer_name, srs, gtype, (char **) lco);
  g_assert_nonnull (layer);
  for (guint i = 0; i < n_fields; i++)
    {
      OGRFieldDefnH fd = OGR_Fld_Create (fields[i].name, fields[i].type);
      g_assert_cmpint (OGR_L_CreateField (layer, fd, TRUE), ==, OGRERR_NONE);
      OGR_Fld_Destroy (fd);
    }
  for (guint r = 0; r < n_rows; r++)
    {
      OGRFeatureH feat = OGR_F_Create (OGR_L_GetLayerDefn (layer));
      for (guint i = 0; i < n_fields; i++)
        if (values[r * n_fields + i] != NULL)
          OGR_F_SetFieldString (feat, (int) i, values[r * n_fields + i]);
      if (wkts != NULL && wkts[r] != NULL)
        {
          OGRGeometryH g = NULL;
          char *wkt = (char *) wkts[r];
          g_assert_cmpint (OGR_G_CreateFromWkt (&wkt, srs, &g), ==, OGRERR_NONE);
          OGR_F_SetGeometryDirectly (feat, g);
        }
      g_assert_cmpint (OGR_L_CreateFeature (layer, feat), ==, OGRERR_NONE);
      OGR_F_Destroy (feat);
    }
  GDALClose (ds);
  if (srs)
    OSRRelease (srs);
}

/* A small GeoJSON in the temp dir, the "layer already there" of the
 * failure tests; it needs no shared data. */
static char *
write_seed_geojson (const char *dir, const char *name)
{
  static const char seed[] =
    "{\"type\":\"FeatureCollection\",\"features\":[\n"
    "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Chợ Buôn Ma Thuột\",\"ma\":\"00123\",\"dien_tich\":973.8},"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[108.0443,12.6808]}},\n"
    "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Hồ Lắk\",\"ma\":\"00124\",\"dien_tich\":12.5},"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[108.1802,12.4195]}},\n"
    "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Phường Tân Lập\",\"ma\":\"24121\",\"dien_tich\":null},"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[108.1166,12.6890]}}\n"
    "]}\n";
  return write_file (dir, name, seed, -1);
}

/* ---- legacy Vietnamese encodings --------------------------------------- */

/* Values that exercise every kind of letter; several end on a toned or
 * hooked letter so that a decoder dropping the last character shows. All
 * capitals are untoned (TCVN3 has no toned capitals: those need the
 * capital-letter fonts, tested separately). */
static const char *const vn_names[] = {
  "Lê Thị Hà",
  "Phạm Văn Đồng",
  "Nguyễn Thị Thuỷ",
  "Đắk Lắk",
  "cơ sở",
  "Bùi Văn Tú",
  "Ngã tư",
  "Phường Tân Lập",
  "Hồ Thị Bờ",
  "Trần Hưng Đạo",
  "Lý Thường Kiệt",
  "Mỹ Tho",
  "Nguyễn Huệ",
  "Hà Nội",
  "Võ Thị Sáu",
  "Bùi Thị Mỵ",
  "Đỗ Thị Thơ",
  "Lưu Văn Lĩnh",
  "Quỳnh Lưu",
  "Đặng Thị Ẩn",
};
static const char *const vn_places[] = {
  "Phường Tân Lập, Buôn Ma Thuột",
  "xã Hoà Thắng",
  "thôn Ea Tu",
  "đường Lê Duẩn",
};
#define FIELD_OWNER "Tên chủ"
#define FIELD_ADDRESS "Địa chỉ"

/* VNI-Windows, written from the published VNI table: a base letter then a
 * mark byte; ơ ư đ and the toned i are single bytes. Capital marks are the
 * small ones minus 0x20. Independent of dothi-encoding.c on purpose. */
static guint8
vni_tone_byte (gunichar modifier, gunichar tone)
{
  static const gunichar tones[] = { 0, 0x0301, 0x0300, 0x0309, 0x0303, 0x0323 };
  static const guint8 plain[] = { 0, 0xF9, 0xF8, 0xFB, 0xF5, 0xEF };
  static const guint8 circ[] = { 0xE2, 0xE1, 0xE0, 0xE5, 0xE3, 0xE4 };
  static const guint8 breve[] = { 0xEA, 0xE9, 0xE8, 0xFA, 0xFC, 0xEB };
  guint k;

  for (k = 0; k < G_N_ELEMENTS (tones); k++)
    if (tones[k] == tone)
      break;
  g_assert_cmpuint (k, <, G_N_ELEMENTS (tones));
  if (modifier == 0x0302)
    return circ[k];
  if (modifier == 0x0306)
    return breve[k];
  return plain[k];
}

static char *
vni_encode (const char *utf8)
{
  g_autofree char *nfd = g_utf8_normalize (utf8, -1, G_NORMALIZE_NFD);
  GString *out = g_string_new (NULL);
  const char *p = nfd;

  while (*p)
    {
      gunichar base = g_utf8_get_char (p);
      gunichar modifier = 0, tone = 0, lower;
      guint8 shift;

      p = g_utf8_next_char (p);
      while (*p)
        {
          gunichar m = g_utf8_get_char (p);
          if (m == 0x0302 || m == 0x0306 || m == 0x031B)
            modifier = m;
          else if (m == 0x0300 || m == 0x0301 || m == 0x0303 || m == 0x0309 || m == 0x0323)
            tone = m;
          else
            break;
          p = g_utf8_next_char (p);
        }
      lower = g_unichar_tolower (base);
      shift = g_unichar_isupper (base) ? 0x20 : 0;

      if (base < 0x80 && modifier == 0 && tone == 0)
        g_string_append_c (out, (char) base);
      else if (lower == 0x0111) /* đ */
        g_string_append_c (out, (char) (0xF1 - shift));
      else if (lower == 'i')
        {
          static const gunichar tones[] = { 0x0301, 0x0300, 0x0309, 0x0303, 0x0323 };
          static const guint8 bytes[] = { 0xED, 0xEC, 0xE6, 0xF3, 0xF2 };
          guint k;
          for (k = 0; k < G_N_ELEMENTS (tones) && tones[k] != tone; k++)
            ;
          g_assert_cmpuint (k, <, G_N_ELEMENTS (tones));
          g_string_append_c (out, (char) (bytes[k] - shift));
        }
      else if (lower == 'y' && tone == 0x0323)
        g_string_append_c (out, (char) (0xEE - shift));
      else if (modifier == 0x031B)
        {
          g_assert_true (lower == 'o' || lower == 'u');
          g_string_append_c (out, (char) ((lower == 'o' ? 0xF4 : 0xF6) - shift));
          if (tone != 0)
            g_string_append_c (out, (char) (vni_tone_byte (0, tone) - shift));
        }
      else
        {
          g_assert_cmpuint (base, <, 0x80);
          g_string_append_c (out, (char) base);
          g_string_append_c (out, (char) (vni_tone_byte (modifier, tone) - shift));
        }
    }
  return g_string_free (out, FALSE);
}

/* TCVN3 (ABC) bytes of text without toned capitals: glibc's TCVN5712-1
 * agrees with TCVN3 on those. */
static char *
tcvn3_encode (const char *utf8)
{
  g_autoptr(GError) error = NULL;
  char *bytes = g_convert (utf8, -1, "TCVN5712-1", "UTF-8", NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

/* CP1258 bytes, with the combining tone marks CP1258 uses. */
static char *
cp1258_encode (const char *utf8)
{
  g_autoptr(GError) error = NULL;
  char *bytes = g_convert (utf8, -1, "CP1258", "UTF-8", NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

typedef char *(*EncodeFunc) (const char *utf8);

static void
test_encoders_sane (void)
{
  g_autofree char *t = tcvn3_encode ("Tên chủ Đạo");
  g_autofree char *v = vni_encode ("Tên chủ Đạo ư ở Ỷ");
  g_autofree char *c = cp1258_encode ("Lê Thị Hà");

  /* Hand-checked against the TCVN 5712:1993 and VNI-Windows charts. */
  g_assert_cmpstr (t, ==, "T\xaan ch\xf1 \xa7\xb9o");
  g_assert_cmpstr (v, ==, "Te\xe2n chu\xfb \xd1" "a\xefo \xf6 \xf4\xfb Y\xdb");
  g_assert_cmpstr (c, ==, "L\xea Thi\xf2 H\xe0");
  for (guint i = 0; i < G_N_ELEMENTS (vn_names); i++)
    assert_nfc (vn_names[i]);
}

/* A point shapefile in EPSG:9218 with the owner and address fields in
 * @encode's bytes (names included), plus an ASCII code and a real area. */
static char *
write_legacy_shapefile (const char *dir, const char *stem, EncodeFunc encode, const char *cpg)
{
  static const char *const lco[] = { "ENCODING=", NULL };
  g_autofree char *path = g_strdup_printf ("%s/%s.shp", dir, stem);
  g_autofree char *owner = encode (FIELD_OWNER);
  g_autofree char *address = encode (FIELD_ADDRESS);
  FieldSpec fields[] = {
    { owner, OFTString },
    { address, OFTString },
    { "Ma_thua", OFTString },
    { "Dien_tich", OFTReal },
  };
  guint n = G_N_ELEMENTS (vn_names);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) wkts = g_ptr_array_new_with_free_func (g_free);

  for (guint r = 0; r < n; r++)
    {
      g_ptr_array_add (values, encode (vn_names[r]));
      g_ptr_array_add (values, encode (vn_places[r % G_N_ELEMENTS (vn_places)]));
      g_ptr_array_add (values, g_strdup_printf ("%05u", r + 1));
      g_ptr_array_add (values, g_strdup_printf ("%u.25", 100 + r));
      g_ptr_array_add (wkts, g_strdup_printf ("POINT (%.3f %.3f)", 458000.0 + r, 1403200.0 + r));
    }
  write_layer ("ESRI Shapefile", path, stem, 9218, wkbPoint, NULL, lco,
               fields, G_N_ELEMENTS (fields), (const char *const *) wkts->pdata,
               (const char *const *) values->pdata, n);
  if (cpg != NULL)
    {
      g_autofree char *name = g_strdup_printf ("%s.cpg", stem);
      g_free (write_file (dir, name, cpg, -1));
    }
  return g_steal_pointer (&path);
}

static void
assert_legacy_table (Fixture *f, const char *table, const char *encoding_expected,
                     DothiImportReport *report)
{
  g_autoptr(Table) t = read_table (f, table);

  g_assert_cmpint (report->n_features, ==, G_N_ELEMENTS (vn_names));
  g_assert_cmpint (report->srid, ==, 9218);
  g_assert_null (report->operation);
  g_assert_cmpstr (report->encoding, ==, encoding_expected);
  g_assert_cmpstr (t->info->encoding, ==, encoding_expected);
  g_assert_cmpint (t->rows->len, ==, G_N_ELEMENTS (vn_names));
  g_assert_cmpint (field_type (t, FIELD_OWNER), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (field_type (t, FIELD_ADDRESS), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (field_type (t, "Ma_thua"), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (field_type (t, "Dien_tich"), ==, DOTHI_FIELD_REAL);
  for (guint r = 0; r < G_N_ELEMENTS (vn_names); r++)
    {
      Row *row = row_at (t, r);
      g_autofree char *code = g_strdup_printf ("%05u", r + 1);
      const char *owner = row_text (t, row, FIELD_OWNER);
      const char *expected = vn_names[r];

      g_assert_cmpstr (owner, ==, expected);
      /* The last character on its own, so a lost final mark is obvious. */
      g_assert_cmpstr (g_utf8_offset_to_pointer (owner, g_utf8_strlen (owner, -1) - 1), ==,
                       g_utf8_offset_to_pointer (expected, g_utf8_strlen (expected, -1) - 1));
      g_assert_cmpstr (row_text (t, row, FIELD_ADDRESS), ==, vn_places[r % G_N_ELEMENTS (vn_places)]);
      g_assert_cmpstr (row_text (t, row, "Ma_thua"), ==, code);
      g_assert_cmpfloat_with_epsilon (row_real (t, row, "Dien_tich"), 100 + r + 0.25, 1e-9);
      g_assert_cmpfloat (OGR_G_GetX (first_simple_part (row->geom), 0), ==, 458000.0 + r);
      g_assert_cmpfloat (OGR_G_GetY (first_simple_part (row->geom), 0), ==, 1403200.0 + r);
    }
  assert_all_text_nfc (t);
}

typedef struct {
  const char *stem;
  EncodeFunc  encode;
  const char *cpg;
  const char *explicit_name;   /* as a user would type it */
  const char *canonical;
} LegacyCase;

static const LegacyCase legacy_tcvn3 = { "thuadat_tcvn3", tcvn3_encode, NULL, "ABC", DOTHI_ENCODING_TCVN3 };
static const LegacyCase legacy_vni = { "thuadat_vni", vni_encode, NULL, "vni", DOTHI_ENCODING_VNI };
static const LegacyCase legacy_cp1258 = { "thuadat_cp1258", cp1258_encode, "1258", "windows-1258", DOTHI_ENCODING_CP1258 };

static void
test_legacy_auto (Fixture *f, gconstpointer data)
{
  const LegacyCase *c = data;
  g_autofree char *shp = write_legacy_shapefile (f->dir, c->stem, c->encode, c->cpg);
  g_autoptr(DothiImport) imp = import_ok (f, shp, &(Options) { .encoding = NULL });

  assert_legacy_table (f, only_report (imp)->table, c->canonical, only_report (imp));
}

static void
test_legacy_explicit (Fixture *f, gconstpointer data)
{
  const LegacyCase *c = data;
  g_autofree char *shp = write_legacy_shapefile (f->dir, c->stem, c->encode, c->cpg);
  g_autoptr(DothiImport) imp = import_ok (f, shp, &(Options) { .encoding = c->explicit_name });

  assert_legacy_table (f, only_report (imp)->table, c->canonical, only_report (imp));
}

/* A shapefile's layer name comes from its (UTF-8) file name, not from the
 * DBF's legacy bytes. */
static void
test_legacy_utf8_file_name (Fixture *f, gconstpointer data)
{
  g_autofree char *shp = write_legacy_shapefile (f->dir, "Thửa đất", tcvn3_encode, NULL);
  g_autoptr(DothiImport) imp = import_ok (f, shp, NULL);
  DothiImportReport *r = only_report (imp);
  g_autoptr(Table) t = NULL;

  g_assert_cmpstr (r->source_layer, ==, "Thửa đất");
  g_assert_cmpstr (r->title, ==, "Thửa đất");
  g_assert_cmpstr (r->table, ==, "thua_dat");
  t = read_table (f, "thua_dat");
  g_assert_cmpstr (t->info->title, ==, "Thửa đất");
  g_assert_cmpstr (row_text (t, row_at (t, 0), FIELD_OWNER), ==, vn_names[0]);
}

/* TCVN3 typed in the capital-letter fonts: the bytes are those of small
 * letters; only the fields the user names come out in capitals. */
static void
test_tcvn3_caps (Fixture *f, gconstpointer data)
{
  static const char *const lco[] = { "ENCODING=", NULL };
  static const char *const small[] = { "phường tân lập", "buôn ma thuột", "đắk lắk", "hồ thị bờ" };
  static const char *const caps[] = { "PHƯỜNG TÂN LẬP", "BUÔN MA THUỘT", "ĐẮK LẮK", "HỒ THỊ BỜ" };
  static const char *const caps_fields[] = { "Tên phường", NULL };
  g_autofree char *path = g_build_filename (f->dir, "caps.shp", NULL);
  g_autofree char *name_caps = tcvn3_encode ("Tên phường");
  g_autofree char *name_plain = tcvn3_encode ("Ghi chú");
  FieldSpec fields[] = { { name_caps, OFTString }, { name_plain, OFTString } };
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;

  for (guint r = 0; r < G_N_ELEMENTS (small); r++)
    {
      g_ptr_array_add (values, tcvn3_encode (small[r]));
      g_ptr_array_add (values, tcvn3_encode (small[r]));
    }
  write_layer ("ESRI Shapefile", path, "caps", 9218, wkbPoint, NULL, lco, fields, 2,
               (const char *const[]) { "POINT (458000 1403200)", "POINT (458001 1403201)",
                                       "POINT (458002 1403202)", "POINT (458003 1403203)" },
               (const char *const *) values->pdata, G_N_ELEMENTS (small));

  imp = import_ok (f, path, &(Options) { .encoding = "TCVN3", .caps = caps_fields });
  t = read_table (f, only_report (imp)->table);
  for (guint r = 0; r < G_N_ELEMENTS (small); r++)
    {
      g_assert_cmpstr (row_text (t, row_at (t, r), "Tên phường"), ==, caps[r]);
      g_assert_cmpstr (row_text (t, row_at (t, r), "Ghi chú"), ==, small[r]);
    }
  assert_all_text_nfc (t);
}

/* The preview decodes names and samples and writes nothing. */
static void
test_preview (Fixture *f, gconstpointer data)
{
  g_autofree char *seed = write_seed_geojson (f->dir, "seed.geojson");
  g_autoptr(DothiImport) first = import_ok (f, seed, NULL);
  g_autofree char *shp = write_legacy_shapefile (f->dir, "preview_tcvn3", tcvn3_encode, NULL);
  g_autofree char *before = project_state (f);
  g_autofree char *after = NULL;
  g_autoptr(DothiImport) imp = new_import (f, shp, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) previews = dothi_import_preview_sync (imp, 5, &error);
  DothiImportPreview *pv;
  DothiImportFieldPreview *owner = NULL, *area = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (previews);
  g_assert_cmpuint (previews->len, ==, 1);
  pv = g_ptr_array_index (previews, 0);
  g_assert_cmpstr (pv->source_layer, ==, "preview_tcvn3");
  g_assert_cmpstr (pv->table, ==, "preview_tcvn3");
  g_assert_cmpint (pv->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpint (pv->feature_count, ==, G_N_ELEMENTS (vn_names));
  g_assert_cmpint (pv->source_srid, ==, 9218);
  g_assert_cmpint (pv->target_srid, ==, 9218);
  g_assert_cmpstr (pv->encoding, ==, DOTHI_ENCODING_TCVN3);
  g_assert_true (pv->encoding_detected);
  g_assert_cmpfloat (pv->confidence, >, 0.5);
  for (guint i = 0; i < pv->fields->len; i++)
    {
      DothiImportFieldPreview *fp = g_ptr_array_index (pv->fields, i);
      if (g_strcmp0 (fp->name, FIELD_OWNER) == 0)
        owner = fp;
      else if (g_strcmp0 (fp->name, "Dien_tich") == 0)
        area = fp;
    }
  g_assert_nonnull (owner);
  g_assert_nonnull (area);
  g_assert_cmpint (owner->type, ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (area->type, ==, DOTHI_FIELD_REAL);
  g_assert_cmpuint (owner->samples->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpstr (g_ptr_array_index (owner->samples, i), ==, vn_names[i]);

  /* Nothing written: same layers, same tables, no history. */
  after = project_state (f);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpuint (n_layers (f), ==, 1);
  g_assert_cmpuint (dothi_import_get_reports (imp)->len, ==, 0);
}

/* ---- GML: the ViLIS cadastral export ----------------------------------- */

/* The numbers of the first posList in @gml, as text. */
static char **
first_pos_list (const char *gml)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  const char *start, *end;
  g_autofree char *list = NULL;

  g_file_get_contents (gml, &contents, NULL, &error);
  g_assert_no_error (error);
  start = strstr (contents, "<gml:posList>");
  g_assert_nonnull (start);
  start += strlen ("<gml:posList>");
  end = strstr (start, "</gml:posList>");
  g_assert_nonnull (end);
  list = g_strndup (start, (gsize) (end - start));
  return g_strsplit (g_strstrip (list), " ", -1);
}

static void
test_gml_vilis (Fixture *f, gconstpointer data)
{
  g_autofree char *src = dothi_test_shared_path ("vilis-cadastral-bmt/Thua_Dat.gml");
  g_autofree char *xsd = NULL;
  g_autofree char *gml = NULL;
  g_autofree char *xsd_copy = NULL;
  g_autofree char *gfs = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  g_auto(GStrv) pos = NULL;
  DothiImportReport *r;
  Row *row;
  OGRGeometryH ring;
  guint n_committee = 0;
  double total_area = 0;

  if (src == NULL)
    return;
  /* The shared folder is read-only: import a copy, to see whether GDAL
   * writes a .gfs beside it. */
  xsd = dothi_test_shared_path ("vilis-cadastral-bmt/Thua_Dat.xsd");
  if (xsd == NULL)
    return;
  gml = copy_file (src, f->dir, "Thua_Dat.gml");
  xsd_copy = copy_file (xsd, f->dir, "Thua_Dat.xsd");
  gfs = g_build_filename (f->dir, "Thua_Dat.gfs", NULL);

  imp = import_ok (f, gml, NULL);
  r = only_report (imp);
  g_assert_false (g_file_test (gfs, G_FILE_TEST_EXISTS));
  g_assert_cmpint (r->n_features, ==, 129);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_null (r->operation);
  g_assert_cmpint (r->n_invalid, ==, 0);

  t = read_table (f, r->table);
  g_assert_cmpint (t->info->srid, ==, 9218);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  g_assert_null (t->info->operation);
  g_assert_cmpint (t->rows->len, ==, 129);
  g_assert_cmpstr (t->info->driver, ==, "GML");

  /* Codes stay text, areas are numbers. */
  g_assert_cmpint (field_type (t, "maXa"), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (field_type (t, "soThuTuThua"), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (field_type (t, "soHieuToBanDo"), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (field_type (t, "dienTich"), ==, DOTHI_FIELD_REAL);
  row = row_at (t, 0);
  g_assert_cmpstr (row_text (t, row, "maXa"), ==, "24121");
  g_assert_cmpstr (row_text (t, row, "soThuTuThua"), ==, "10");
  g_assert_cmpstr (row_text (t, row, "mucDichSuDung"), ==, "BHK");
  g_assert_cmpfloat_with_epsilon (row_real (t, row, "dienTich"), 973.80, 1e-9);

  /* Every vertex of the first parcel, bit for bit as the GML text says
   * (easting northing). */
  pos = first_pos_list (gml);
  ring = first_simple_part (row->geom);
  g_assert_cmpuint (g_strv_length (pos), ==, 2 * (guint) OGR_G_GetPointCount (ring));
  for (int i = 0; i < OGR_G_GetPointCount (ring); i++)
    {
      g_assert_cmpfloat (OGR_G_GetX (ring, i), ==, g_ascii_strtod (pos[2 * i], NULL));
      g_assert_cmpfloat (OGR_G_GetY (ring, i), ==, g_ascii_strtod (pos[2 * i + 1], NULL));
    }
  g_assert_cmpfloat (OGR_G_GetX (ring, 0), ==, 458289.010000000009);
  g_assert_cmpfloat (OGR_G_GetY (ring, 0), ==, 1403384.290000000037);

  for (guint i = 0; i < t->rows->len; i++)
    {
      Row *p = row_at (t, i);
      const char *owner = row_text (t, p, "tenChu");
      g_assert_cmpstr (row_text (t, p, "maXa"), ==, "24121");
      total_area += row_real (t, p, "dienTich");
      if (g_strcmp0 (owner, "Uỷ ban nhân dân Phường Tân Lập") == 0)
        n_committee++;
    }
  g_assert_cmpuint (n_committee, ==, 6);
  g_assert_cmpfloat_with_epsilon (total_area, 87686.1, 0.01);
  assert_nfc ("Uỷ ban nhân dân Phường Tân Lập");
  (void) find_row (t, "diaChi", "Phường Tân Lập, Tỉnh Đắk Lắk");
  (void) find_row (t, "mucDichSuDung", "ODT+CLN");
  assert_all_text_nfc (t);
  g_assert_cmpfloat_with_epsilon (t->info->extent[0], 457970.55, 0.01);
  g_assert_cmpfloat_with_epsilon (t->info->extent[1], 1403122.20, 0.01);
  g_assert_cmpfloat_with_epsilon (t->info->extent[2], 458371.61, 0.01);
  g_assert_cmpfloat_with_epsilon (t->info->extent[3], 1403475.65, 0.01);

  /* A preview does not write a .gfs either. */
  {
    g_autoptr(DothiImport) again = new_import (f, gml, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) previews = dothi_import_preview_sync (again, 3, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (previews->len, ==, 1);
    g_assert_false (g_file_test (gfs, G_FILE_TEST_EXISTS));
  }
}

static double
area_inside (OGRGeometryH g, OGRGeometryH ward)
{
  g_auto(OGRGeometryH) inter = OGR_G_Intersection (g, ward);
  return inter ? OGR_G_Area (inter) : 0;
}

/* The parcels of Tân Lập fall inside the ward's 2025 boundary (WGS 84,
 * transformed to VN-2000 on import). */
static void
test_crosscheck_tan_lap (Fixture *f, gconstpointer data)
{
  g_autofree char *gml = dothi_test_shared_path ("vilis-cadastral-bmt/Thua_Dat.gml");
  g_autofree char *ward = NULL;
  g_autoptr(DothiImport) imp_parcels = NULL;
  g_autoptr(DothiImport) imp_ward = NULL;
  g_autoptr(Table) parcels = NULL;
  g_autoptr(Table) boundary = NULL;
  DothiImportReport *rw;
  OGRGeometryH ward_geom;
  guint within = 0, intersects = 0;
  double farthest = 0;

  if (gml == NULL)
    return;
  ward = dothi_test_shared_path ("vn-admin-2025/24121_tan_lap.geojson");
  if (ward == NULL)
    return;

  imp_parcels = import_ok (f, gml, NULL);
  imp_ward = import_ok (f, ward, NULL);
  rw = only_report (imp_ward);
  g_assert_cmpint (rw->n_features, ==, 1);
  g_assert_cmpint (rw->srid, ==, 9218);
  g_assert_nonnull (rw->operation);
  g_test_message ("ward transformed with: %s", rw->operation);
  assert_contains (rw->operation, "VN-2000");

  parcels = read_table (f, only_report (imp_parcels)->table);
  boundary = read_table (f, rw->table);
  g_assert_nonnull (boundary->info->operation);
  assert_contains (boundary->info->operation, "VN-2000");
  g_assert_cmpstr (row_text (boundary, row_at (boundary, 0), "name"), ==, "Tân Lập");
  ward_geom = row_at (boundary, 0)->geom;
  g_assert_nonnull (ward_geom);
  g_assert_true (OGR_G_IsValid (ward_geom));

  for (guint i = 0; i < parcels->rows->len; i++)
    {
      OGRGeometryH g = row_at (parcels, i)->geom;
      if (OGR_G_Within (g, ward_geom))
        within++;
      else
        g_test_message ("parcel %s/%s not within the ward: %.2f of %.2f m² inside",
                        row_text (parcels, row_at (parcels, i), "soHieuToBanDo"),
                        row_text (parcels, row_at (parcels, i), "soThuTuThua"),
                        area_inside (g, ward_geom), OGR_G_Area (g));
      if (OGR_G_Intersects (g, ward_geom))
        intersects++;
      farthest = MAX (farthest, OGR_G_Distance (g, ward_geom));
    }
  g_test_message ("%u of %u parcels within the ward, %u intersecting it, farthest %.2f m outside",
                  within, parcels->rows->len, intersects, farthest);
  /* The 2025 boundary was digitised from a web map (sapnhap.bando.com.vn)
   * and strays up to ~35 m from the cadastral lines along the ward's edge,
   * where these parcels lie: 104 of 129 parcels are within it, 117 touch
   * it, and none is farther than 34.1 m. A wrong datum shift (local
   * VN-2000 is ~225 m off), swapped axes or the wrong zone would put them
   * hundreds of metres or kilometres away. */
  g_assert_cmpfloat (farthest, <, 50.0);
  g_assert_cmpuint (within * 100, >=, 80 * parcels->rows->len);
  g_assert_cmpuint (intersects * 100, >=, 90 * parcels->rows->len);
}

/* ---- GeoJSON ----------------------------------------------------------- */

static void
test_geojson_legocity_nfc (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("legocity-vn/thuydien.geojson");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  const char *da_tong = "\xc4\x90\xe1\xba\xa1 T\xc3\xb4ng";   /* Đạ Tông, precomposed */
  const char *da_long = "\xc4\x90\xe1\xba\xa1 Long";

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 197);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_nonnull (r->operation);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpint (t->rows->len, ==, 197);

  /* Features 179 and 180 of the file carry a combining dot below. */
  g_assert_cmpstr (row_text (t, row_at (t, 179), "Name"), ==, "Krông Nô 3");
  g_assert_cmpstr (row_text (t, row_at (t, 180), "Name"), ==, "Đắc Mê");
  assert_nfc (row_text (t, row_at (t, 179), "Xa_Phuong"));
  assert_nfc (row_text (t, row_at (t, 180), "Xa_Phuong"));
  g_assert_cmpstr (row_text (t, row_at (t, 179), "Xa_Phuong"), ==, da_tong);
  g_assert_cmpstr (row_text (t, row_at (t, 180), "Xa_Phuong"), ==, da_long);
  /* The one before was NFC already. */
  g_assert_cmpstr (row_text (t, row_at (t, 178), "Xa_Phuong"), ==, da_tong);
  g_assert_cmpstr (row_text (t, row_at (t, 178), "Tinh"), ==, "Lâm Đồng");
  (void) find_row (t, "Status", "Đang xây dựng");
  assert_all_text_nfc (t);
}

/* gzip @from into @to. */
static void
gzip_file (const char *from, const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) in = g_file_new_for_path (from);
  g_autoptr(GFile) out = g_file_new_for_path (to);
  g_autoptr(GInputStream) is = G_INPUT_STREAM (g_file_read (in, NULL, &error));
  g_autoptr(GOutputStream) os = NULL;
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr(GOutputStream) zs = NULL;

  g_assert_no_error (error);
  os = G_OUTPUT_STREAM (g_file_replace (out, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error));
  g_assert_no_error (error);
  zs = g_converter_output_stream_new (os, G_CONVERTER (z));
  g_output_stream_splice (zs, is, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                          NULL, &error);
  g_assert_no_error (error);
}

static void
test_geojson_gzip (Fixture *f, gconstpointer data)
{
  g_autofree char *src = dothi_test_shared_path ("legocity-vn/giaothong.geojson");
  g_autofree char *gz = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *row;

  if (src == NULL)
    return;
  gz = g_build_filename (f->dir, "giaothong.geojson.gz", NULL);
  gzip_file (src, gz);
  imp = import_ok (f, gz, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 458);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_nonnull (r->operation);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTILINESTRING);
  row = find_row (t, "ten", "Hà Nội - Hồ Chí Minh");
  g_assert_cmpstr (row_text (t, row, "loai_duong"), ==, "Đường sắt");
  g_assert_cmpstr (row_text (t, row_at (t, 0), "ten"), ==, "Mương Mán - Phan Thiết");
  g_assert_cmpstr (row_text (t, row_at (t, 0), "cap_duong"), ==, "Cấp Tỉnh");
  g_assert_cmpfloat_with_epsilon (row_real (t, row_at (t, 0), "chieu_dai"), 12015.934977, 1e-6);
  assert_all_text_nfc (t);
}

static void
test_geojson_bare_array (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("dalat-osm/building.geojson");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *row;
  guint n_points = 0, n_polygons = 0;

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 2485);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_nonnull (r->operation);
  g_assert_cmpstr (r->source_layer, ==, "building");
  t = read_table (f, r->table);
  g_assert_cmpint (t->rows->len, ==, 2485);
  row = find_row (t, "name", "Chợ Đà Lạt");
  g_assert_cmpstr (row_text (t, row, "name:en"), ==, "Dalat Market");
  (void) find_row (t, "name", "Ga Đà Lạt");
  for (guint i = 0; i < t->rows->len; i++)
    {
      OGRwkbGeometryType gt = wkbFlatten (OGR_G_GetGeometryType (row_at (t, i)->geom));
      if (gt == wkbMultiPoint)
        n_points++;
      else if (gt == wkbMultiPolygon)
        n_polygons++;
    }
  g_assert_cmpuint (n_points, ==, 8);
  g_assert_cmpuint (n_polygons, ==, 2477);
  assert_all_text_nfc (t);
}

/* ---- Shapefiles -------------------------------------------------------- */

static void
test_shapefile_saigon (Fixture *f, gconstpointer data)
{
  g_autofree char *buildings = dothi_test_shared_path ("saigon-peninsula-d7/Building_full.shp");
  g_autofree char *wards = NULL;
  g_autoptr(DothiImport) imp_b = NULL;
  g_autoptr(DothiImport) imp_w = NULL;
  g_autoptr(Table) tb = NULL;
  g_autoptr(Table) tw = NULL;
  DothiImportReport *rb, *rw;
  OGRGeometryH ring;
  Row *row;

  if (buildings == NULL)
    return;
  wards = dothi_test_shared_path ("saigon-peninsula-d7/Adminitration_Ward.shp");
  if (wards == NULL)
    return;

  imp_b = import_ok (f, buildings, NULL);
  rb = only_report (imp_b);
  g_assert_cmpint (rb->n_features, ==, 5895);
  g_assert_cmpint (rb->srid, ==, 9218);
  g_assert_nonnull (rb->operation);
  g_assert_cmpstr (rb->encoding, ==, DOTHI_ENCODING_UTF8);   /* from the upper-case .CPG */
  tb = read_table (f, rb->table);
  g_assert_cmpint (tb->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  g_assert_true (tb->info->has_z);
  g_assert_false (tb->info->has_m);
  row = row_at (tb, 0);
  g_assert_cmpstr (row_text (tb, row, "LandUseTyp"), ==, "Industrial land");
  g_assert_cmpstr (row_text (tb, row, "TypeCode"), ==, "CN");
  g_assert_cmpfloat_with_epsilon (row_real (tb, row, "Height"), 10.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (row_real (tb, row, "Storey"), 3, 1e-9);
  g_assert_true (row_is_null (tb, row, "Capacity"));
  g_assert_cmpint (OGR_G_GetGeometryType (row->geom), ==, wkbMultiPolygon25D);
  ring = first_simple_part (row->geom);
  g_assert_cmpint (OGR_G_GetPointCount (ring), ==, 5);
  g_assert_cmpfloat (OGR_G_GetZ (ring, 0), ==, 0.0);

  imp_w = import_ok (f, wards, NULL);
  rw = only_report (imp_w);
  g_assert_cmpint (rw->n_features, ==, 10);
  g_assert_cmpint (rw->srid, ==, 9218);
  g_assert_nonnull (rw->operation);
  assert_contains (rw->operation, "UTM zone 48N");
  tw = read_table (f, rw->table);
  row = row_at (tw, 0);
  g_assert_cmpstr (row_text (tw, row, "Commune_Na"), ==, "Tan Phong");
  g_assert_cmpstr (row_text (tw, row, "Commune_ID"), ==, "27490");

  /* The first vertex, transformed here the way PROJ does it by default. */
  {
    g_auto(GDALDatasetH) ds = GDALOpenEx (wards, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH layer = GDALDatasetGetLayer (ds, 0);
    g_auto(OGRFeatureH) feat = OGR_L_GetNextFeature (layer);
    g_auto(OGRSpatialReferenceH) to = OSRNewSpatialReference (NULL);
    g_auto(OGRCoordinateTransformationH) ct = NULL;
    OGRGeometryH src_ring = first_simple_part (OGR_F_GetGeometryRef (feat));
    double x = OGR_G_GetX (src_ring, 0), y = OGR_G_GetY (src_ring, 0);

    OSRImportFromEPSG (to, 9218);
    OSRSetAxisMappingStrategy (to, OAMS_TRADITIONAL_GIS_ORDER);
    ct = OCTNewCoordinateTransformation (OGR_L_GetSpatialRef (layer), to);
    g_assert_nonnull (ct);
    g_assert_true (OCTTransform (ct, 1, &x, &y, NULL));
    ring = first_simple_part (row->geom);
    g_assert_cmpfloat_with_epsilon (OGR_G_GetX (ring, 0), x, 0.01);
    g_assert_cmpfloat_with_epsilon (OGR_G_GetY (ring, 0), y, 0.01);
    /* District 7 lies about 190 km west of the 108°30′ meridian. */
    g_assert_cmpfloat (x, >, 280000);
    g_assert_cmpfloat (x, <, 330000);
  }
}

static void
test_shapefile_zips (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = dothi_test_shared_path ("shapefile-js/T8Th4_6n.zip");
  g_autofree char *mixed = NULL;
  g_autofree char *stations = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;

  if (sub == NULL)
    return;
  mixed = dothi_test_shared_path ("shapefile-js/mixedcase.zip");
  stations = dothi_test_shared_path ("shapefile-js/train_stations.zip");
  if (mixed == NULL || stations == NULL)
    return;

  /* A shapefile in a sub-folder of the zip. */
  imp = import_ok (f, sub, NULL);
  r = only_report (imp);
  g_assert_cmpstr (r->source_layer, ==, "POLYLINE");
  g_assert_cmpint (r->n_features, ==, 1);
  g_assert_cmpint (r->srid, ==, 9218);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTILINESTRING);
  g_assert_cmpstr (row_text (t, row_at (t, 0), "name"), ==, "1974.1004");
  g_clear_object (&imp);
  g_clear_pointer (&t, table_free);

  /* Upper-case extensions inside the zip. */
  imp = import_ok (f, mixed, NULL);
  r = only_report (imp);
  g_assert_cmpstr (r->source_layer, ==, "senate");
  g_assert_cmpint (r->n_features, ==, 40);
  g_assert_cmpint (r->srid, ==, 9218);
  assert_contains (r->operation, "Massachusetts");
  t = read_table (f, r->table);
  g_assert_cmpint (t->rows->len, ==, 40);
  g_assert_cmpstr (row_text (t, row_at (t, 0), "SEN_DIST"), ==, "First Worcester");
  g_assert_cmpint (row_int (t, row_at (t, 0), "SENDISTNUM"), ==, 36);
  g_clear_object (&imp);
  g_clear_pointer (&t, table_free);

  /* Extra files (.cst, .txt) in the zip. */
  imp = import_ok (f, stations, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 361);
  g_assert_cmpint (r->srid, ==, 9218);
  assert_contains (r->operation, "Massachusetts");
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpstr (row_text (t, row_at (t, 0), "station"), ==, "RIVER WORKS");
  g_assert_true (row_is_null (t, row_at (t, 0), "amtrak"));
  g_assert_cmpuint (n_layers (f), ==, 3);
}

static void
test_shapefile_null_geometries (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("shapefile-js/LGA_2013_AUST.shp");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  guint n_null = 0;
  Row *kangaroo;

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 13);
  g_assert_cmpint (r->srid, ==, 9218);
  assert_contains (r->operation, "GDA94");
  t = read_table (f, r->table);
  for (guint i = 0; i < t->rows->len; i++)
    if (row_at (t, i)->geom == NULL)
      n_null++;
  g_assert_cmpuint (n_null, ==, 12);
  kangaroo = find_row (t, "LGA_NAME13", "Kangaroo Island (DC)");
  g_assert_nonnull (kangaroo->geom);
  g_assert_cmpint (OGR_G_GetGeometryCount (kangaroo->geom), ==, 21);
  g_assert_null (find_row (t, "LGA_NAME13", "Unincorporated Qld")->geom);
}

static void
test_shapefile_codepage_1250 (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("shapefile-js/codepage.shp");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 2);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_cmpstr (r->encoding, ==, "CP1250");
  t = read_table (f, r->table);
  g_assert_cmpstr (row_text (t, row_at (t, 0), "field"), ==, "??");
  g_assert_cmpstr (row_text (t, row_at (t, 1), "field"), ==, "Hněvošický háj");
  assert_all_text_nfc (t);
}

/* ---- CSV, DXF, DGN ----------------------------------------------------- */

/* A CSV with VNI bytes (header included) and lon/lat columns. */
static char *
write_vni_xy_csv (const char *dir)
{
  GString *csv = g_string_new (NULL);
  g_autofree char *owner = vni_encode (FIELD_OWNER);
  char *path;

  g_string_append_printf (csv, "ID,%s,lon,lat\r\n", owner);
  for (guint r = 0; r < G_N_ELEMENTS (vn_names); r++)
    {
      g_autofree char *v = vni_encode (vn_names[r]);
      g_string_append_printf (csv, "%u,\"%s\",%.6f,%.6f\r\n", r + 1, v, 108.04 + r * 0.001, 12.68 + r * 0.001);
    }
  path = write_file (dir, "diem_vni.csv", csv->str, (gssize) csv->len);
  g_string_free (csv, TRUE);
  return path;
}

static void
test_csv_vni_attributes (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_vni_xy_csv (f->dir);
  g_autoptr(DothiImport) imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:4326" });
  DothiImportReport *r = only_report (imp);
  g_autoptr(Table) t = read_table (f, r->table);

  g_assert_cmpint (r->n_features, ==, G_N_ELEMENTS (vn_names));
  g_assert_cmpstr (r->encoding, ==, DOTHI_ENCODING_VNI);
  g_assert_cmpstr (t->info->driver, ==, "CSV");
  for (guint i = 0; i < G_N_ELEMENTS (vn_names); i++)
    {
      g_autofree char *id = g_strdup_printf ("%u", i + 1);
      g_assert_cmpstr (row_text (t, row_at (t, i), FIELD_OWNER), ==, vn_names[i]);
      g_assert_cmpstr (row_text (t, row_at (t, i), "ID"), ==, id);
    }
  assert_all_text_nfc (t);
  g_test_message ("lon/lat CSV imported as %s, srid %d, %u fields",
                  dothi_geometry_kind_to_string (t->info->kind), t->info->srid, t->info->fields->len);
}

/* The issue asks for CSV "with WKT or X/Y columns": lon/lat columns give
 * points, transformed like any WGS 84 layer. */
static void
test_csv_xy_geometry (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_vni_xy_csv (f->dir);
  g_autoptr(DothiImport) imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:4326" });
  DothiImportReport *r = only_report (imp);
  g_autoptr(Table) t = read_table (f, r->table);
  g_auto(OGRSpatialReferenceH) from = OSRNewSpatialReference (NULL);
  g_auto(OGRSpatialReferenceH) to = OSRNewSpatialReference (NULL);
  g_auto(OGRCoordinateTransformationH) ct = NULL;
  double x = 108.04, y = 12.68;

  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpint (r->srid, ==, 9218);
  assert_contains (r->operation, "VN-2000");
  g_assert_nonnull (row_at (t, 0)->geom);
  OSRImportFromEPSG (from, 4326);
  OSRImportFromEPSG (to, 9218);
  OSRSetAxisMappingStrategy (from, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy (to, OAMS_TRADITIONAL_GIS_ORDER);
  ct = OCTNewCoordinateTransformation (from, to);
  g_assert_true (OCTTransform (ct, 1, &x, &y, NULL));
  g_assert_cmpfloat_with_epsilon (OGR_G_GetX (first_simple_part (row_at (t, 0)->geom), 0), x, 0.01);
  g_assert_cmpfloat_with_epsilon (OGR_G_GetY (first_simple_part (row_at (t, 0)->geom), 0), y, 0.01);
}

static void
test_csv_tcvn3_wkt (Fixture *f, gconstpointer data)
{
  GString *csv = g_string_new (NULL);
  g_autofree char *owner = tcvn3_encode (FIELD_OWNER);
  g_autofree char *path = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  GError *fail;

  g_string_append_printf (csv, "WKT,%s,Ma\n", owner);
  for (guint i = 0; i < G_N_ELEMENTS (vn_names); i++)
    {
      g_autofree char *v = tcvn3_encode (vn_names[i]);
      g_string_append_printf (csv, "\"POINT (%.3f %.3f)\",\"%s\",%05u\n", 458100.125 + i, 1403300.5 + i, v, i);
    }
  path = write_file (f->dir, "diem_tcvn3.csv", csv->str, (gssize) csv->len);
  g_string_free (csv, TRUE);

  /* CSV carries no CRS. */
  fail = import_fails (f, path, NULL);
  g_assert_error (fail, DOTHI_ERROR, DOTHI_ERROR_CRS);
  assert_contains (fail->message, "diem_tcvn3.csv");
  assert_contains (fail->message, "--src-crs");
  g_error_free (fail);
  g_assert_cmpuint (n_layers (f), ==, 0);

  imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:9218" });
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, G_N_ELEMENTS (vn_names));
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_null (r->operation);
  g_assert_cmpstr (r->encoding, ==, DOTHI_ENCODING_TCVN3);
  t = read_table (f, r->table);
  for (guint i = 0; i < G_N_ELEMENTS (vn_names); i++)
    {
      g_autofree char *code = g_strdup_printf ("%05u", i);
      Row *row = row_at (t, i);
      g_assert_cmpstr (row_text (t, row, FIELD_OWNER), ==, vn_names[i]);
      g_assert_cmpstr (row_text (t, row, "Ma"), ==, code);
      g_assert_cmpfloat (OGR_G_GetX (first_simple_part (row->geom), 0), ==, 458100.125 + i);
      g_assert_cmpfloat (OGR_G_GetY (first_simple_part (row->geom), 0), ==, 1403300.5 + i);
    }
  assert_all_text_nfc (t);
  /* Points only: a point layer, though GDAL calls a WKT column "unknown". */
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
}

/* An ENTITIES-only DXF (as AutoCAD R12 accepts) whose layer names and
 * texts are TCVN3 bytes, as Vietnamese consultants' drawings are. */
static void
assert_dxf_table (Fixture *f, DothiImportReport *r, const char *const *layers, const char *const *texts)
{
  g_autoptr(Table) t = read_table (f, r->table);
  guint n_text = 0;

  g_assert_cmpint (r->n_features, ==, 4);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_null (r->operation);
  g_assert_cmpstr (r->encoding, ==, DOTHI_ENCODING_TCVN3);
  g_assert_cmpstr (t->info->driver, ==, "DXF");
  g_assert_cmpint (t->rows->len, ==, 4);
  for (guint i = 0; i < t->rows->len; i++)
    {
      Row *row = row_at (t, i);
      const char *layer = row_text (t, row, "Layer");
      const char *text = row_text (t, row, "Text");
      guint k = g_strcmp0 (layer, layers[0]) == 0 ? 0 : 1;

      g_assert_cmpstr (layer, ==, layers[k]);
      if (text != NULL && *text != '\0')
        {
          g_assert_cmpstr (text, ==, texts[k]);
          g_assert_cmpint (wkbFlatten (OGR_G_GetGeometryType (row->geom)), ==, wkbMultiPoint);
          g_assert_cmpfloat (OGR_G_GetX (first_simple_part (row->geom), 0), ==, 458000.5 + k);
          n_text++;
        }
    }
  g_assert_cmpuint (n_text, ==, 2);
  /* Texts and lines together: a mixed layer. */
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_GEOMETRY);
  assert_all_text_nfc (t);
}

/* An ENTITIES-only DXF (as AutoCAD R12 accepts) whose layer names and
 * texts are TCVN3 bytes, as Vietnamese consultants' drawings are. Written
 * by hand: GDAL's DXF writer recodes UTF-8 to its code page. */
static char *
write_tcvn3_dxf (const char *dir, const char *const *layers, const char *const *texts)
{
  GString *dxf = g_string_new ("0\nSECTION\n2\nENTITIES\n");
  char *path;

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *layer = tcvn3_encode (layers[i]);
      g_autofree char *text = tcvn3_encode (texts[i]);
      g_string_append_printf (dxf, "0\nTEXT\n8\n%s\n10\n%.3f\n20\n%.3f\n30\n0.0\n40\n2.5\n1\n%s\n",
                              layer, 458000.5 + i, 1403200.25 + i, text);
      g_string_append_printf (dxf, "0\nLINE\n8\n%s\n10\n458000.0\n20\n1403200.0\n30\n0.0\n11\n458010.0\n21\n1403210.0\n31\n0.0\n",
                              layer);
    }
  g_string_append (dxf, "0\nENDSEC\n0\nEOF\n");
  path = write_file (dir, "ban_ve.dxf", dxf->str, (gssize) dxf->len);
  g_string_free (dxf, TRUE);
  return path;
}

static const char *const dxf_layers[] = { "ranh giới thửa", "nhà ở" };
static const char *const dxf_texts[] = { "Nguyễn Thị Thuỷ", "đất ở đô thị" };

static void
test_dxf_tcvn3_explicit (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_tcvn3_dxf (f->dir, dxf_layers, dxf_texts);
  g_autoptr(DothiImport) imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:9218", .encoding = "TCVN3" });

  assert_dxf_table (f, only_report (imp), dxf_layers, dxf_texts);
}

static void
test_dxf_tcvn3_auto (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_tcvn3_dxf (f->dir, dxf_layers, dxf_texts);
  g_autoptr(DothiImport) imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:9218" });

  assert_dxf_table (f, only_report (imp), dxf_layers, dxf_texts);
}

static void
test_dgn_tag (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("dgnlib/tag.dgn");
  g_autofree char *seed = NULL;
  g_autoptr(DothiImport) first = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  GError *error;
  Row *row;

  if (path == NULL)
    return;
  seed = write_seed_geojson (f->dir, "seed.geojson");
  first = import_ok (f, seed, NULL);
  before = project_state (f);

  error = import_fails (f, path, NULL);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
  assert_contains (error->message, "tag.dgn");
  assert_contains (error->message, "elements");
  assert_contains (error->message, "--src-crs");
  g_error_free (error);
  after = project_state (f);
  g_assert_cmpstr (before, ==, after);

  imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:9218" });
  r = only_report (imp);
  g_assert_cmpstr (r->source_layer, ==, "elements");
  g_assert_cmpint (r->n_features, ==, 583);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_null (r->operation);
  t = read_table (f, r->table);
  g_assert_cmpstr (t->info->driver, ==, "DGN");
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_GEOMETRY);
  row = find_row (t, "Text", "286M*");
  g_assert_cmpint (row_int (t, row, "Level"), ==, 42);
  g_assert_cmpint (row_int (t, row, "Type"), ==, 17);
  g_assert_cmpfloat_with_epsilon (OGR_G_GetX (first_simple_part (row->geom), 0), 2548249.078, 0.001);
  /* No CRS change: the coordinates are GDAL's, bit for bit. */
  {
    g_auto(GDALDatasetH) ds = GDALOpenEx (path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    g_auto(OGRFeatureH) feat = OGR_L_GetFeature (GDALDatasetGetLayer (ds, 0), 182);
    OGRGeometryH pt = OGR_F_GetGeometryRef (feat);

    g_assert_cmpstr (OGR_F_GetFieldAsString (feat, OGR_F_GetFieldIndex (feat, "Text")), ==, "286M*");
    g_assert_cmpfloat (OGR_G_GetX (first_simple_part (row->geom), 0), ==, OGR_G_GetX (pt, 0));
    g_assert_cmpfloat (OGR_G_GetY (first_simple_part (row->geom), 0), ==, OGR_G_GetY (pt, 0));
  }
  /* tag.dgn is a 2D design file (its header's first byte is 0x08, not
   * 0xC8; SOURCES.md has tag.dgn and out.dgn the wrong way round). */
  g_assert_false (t->info->has_z);
}

/* out.dgn is the 3D one: every element has a Z, which must survive. */
static void
test_dgn_out_3d (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("dgnlib/out.dgn");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *text;
  gint64 n_gdal;
  gboolean found_line = FALSE;

  if (path == NULL)
    return;
  {
    g_auto(GDALDatasetH) ds = GDALOpenEx (path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH layer;
    OGRFeatureH feat;

    g_assert_nonnull (ds);
    /* The DGN driver's fast count says 8 (as SOURCES.md does); reading
     * returns 10 elements: count what it gives. */
    layer = GDALDatasetGetLayer (ds, 0);
    for (n_gdal = 0; (feat = OGR_L_GetNextFeature (layer)) != NULL; n_gdal++)
      OGR_F_Destroy (feat);
  }
  imp = import_ok (f, path, &(Options) { .src_crs = "EPSG:9218" });
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, n_gdal);
  g_assert_cmpint (r->srid, ==, 9218);
  t = read_table (f, r->table);
  text = find_row (t, "Text", "This is a test string");
  g_assert_cmpfloat (OGR_G_GetX (first_simple_part (text->geom), 0), ==, 2000);
  g_assert_cmpfloat (OGR_G_GetY (first_simple_part (text->geom), 0), ==, 3000);
  g_assert_true (t->info->has_z);
  for (guint i = 0; i < t->rows->len; i++)
    {
      OGRGeometryH g = row_at (t, i)->geom;
      OGRGeometryH part = first_simple_part (g);
      g_assert_true (OGR_G_Is3D (g));
      if (OGR_G_GetPointCount (part) == 2 && OGR_G_GetX (part, 1) == 10000)
        {
          /* LINESTRING Z (0 0 100, 10000 4000 110) */
          g_assert_cmpfloat (OGR_G_GetZ (part, 0), ==, 100);
          g_assert_cmpfloat (OGR_G_GetZ (part, 1), ==, 110);
          found_line = TRUE;
        }
    }
  g_assert_true (found_line);
}

/* ---- GeoPackage -------------------------------------------------------- */

static void
test_gpkg_curves (Fixture *f, gconstpointer data)
{
  g_autofree char *curve = dothi_test_shared_path ("pyogrio/curve.gpkg");
  g_autofree char *surface = NULL;
  g_autofree char *arcs = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  OGRGeometryH line;

  if (curve == NULL)
    return;
  surface = dothi_test_shared_path ("pyogrio/multisurface.gpkg");
  if (surface == NULL)
    return;

  imp = import_ok (f, curve, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 1);
  g_assert_cmpint (r->srid, ==, 9218);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTILINESTRING);
  g_assert_cmpint (OGR_G_GetGeometryType (row_at (t, 0)->geom), ==, wkbMultiLineString);
  g_clear_object (&imp);
  g_clear_pointer (&t, table_free);

  imp = import_ok (f, surface, NULL);
  r = only_report (imp);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  g_assert_cmpint (OGR_G_GetGeometryType (row_at (t, 0)->geom), ==, wkbMultiPolygon);
  g_clear_object (&imp);
  g_clear_pointer (&t, table_free);

  /* A real arc, in the project zone: linearised on the circle. */
  arcs = g_build_filename (f->dir, "cung_tron.gpkg", NULL);
  write_layer ("GPKG", arcs, "cung_tron", 9218, wkbCircularString, NULL, NULL,
               (const FieldSpec[]) { { "ten", OFTString } }, 1,
               (const char *const[]) { "CIRCULARSTRING (458000 1403100, 458100 1403200, 458200 1403100)" },
               (const char *const[]) { "Vòng xoay Ngã Sáu" }, 1);
  imp = import_ok (f, arcs, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_null (r->operation);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTILINESTRING);
  g_assert_cmpstr (row_text (t, row_at (t, 0), "ten"), ==, "Vòng xoay Ngã Sáu");
  line = first_simple_part (row_at (t, 0)->geom);
  g_assert_cmpint (OGR_G_GetPointCount (line), >, 10);
  for (int i = 0; i < OGR_G_GetPointCount (line); i++)
    {
      double dx = OGR_G_GetX (line, i) - 458100, dy = OGR_G_GetY (line, i) - 1403100;
      g_assert_cmpfloat_with_epsilon (sqrt (dx * dx + dy * dy), 100.0, 0.01);
    }
  g_assert_cmpfloat_with_epsilon (OGR_G_GetX (line, 0), 458000, 0.01);
  g_assert_cmpfloat_with_epsilon (OGR_G_GetX (line, OGR_G_GetPointCount (line) - 1), 458200, 0.01);
}

static void
test_gpkg_nulls (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("pyogrio/test_gpkg_nulls.gpkg");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  static const char *const cols[] = { "col_bool", "col_int8", "col_int16", "col_int32", "col_int64",
                                      "col_uint8", "col_uint16", "col_uint32", "col_uint64",
                                      "col_float32", "col_float64" };

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 4);
  g_assert_cmpint (r->srid, ==, 9218);
  t = read_table (f, r->table);
  g_assert_cmpint (field_type (t, "col_bool"), ==, DOTHI_FIELD_BOOLEAN);
  g_assert_cmpint (field_type (t, "col_int64"), ==, DOTHI_FIELD_INTEGER);
  g_assert_cmpint (field_type (t, "col_float32"), ==, DOTHI_FIELD_REAL);
  g_assert_cmpint (row_int (t, row_at (t, 0), "col_bool"), ==, 1);
  g_assert_cmpint (row_int (t, row_at (t, 1), "col_bool"), ==, 0);
  g_assert_cmpint (row_int (t, row_at (t, 2), "col_uint64"), ==, 3);
  g_assert_cmpfloat_with_epsilon (row_real (t, row_at (t, 1), "col_float64"), 2.5, 1e-12);
  for (guint i = 0; i < G_N_ELEMENTS (cols); i++)
    {
      g_assert_false (row_is_null (t, row_at (t, 2), cols[i]));
      g_assert_true (row_is_null (t, row_at (t, 3), cols[i]));
    }
  g_assert_nonnull (row_at (t, 3)->geom);
}

static void
test_gpkg_zm (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("pyogrio/line_zm.gpkg");
  g_autofree char *own = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  OGRGeometryH line;

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 1);
  g_assert_cmpint (r->srid, ==, 9218);
  t = read_table (f, r->table);
  g_assert_true (t->info->has_z);
  g_assert_true (t->info->has_m);
  g_assert_cmpint (OGR_G_GetGeometryType (row_at (t, 0)->geom), ==, wkbMultiLineStringZM);
  g_clear_object (&imp);
  g_clear_pointer (&t, table_free);

  /* Z and M values of our own, in the project zone: kept exactly. */
  own = g_build_filename (f->dir, "ong_nuoc.gpkg", NULL);
  write_layer ("GPKG", own, "ong_nuoc", 9218, wkbLineStringZM, NULL, NULL,
               (const FieldSpec[]) { { "duong_kinh", OFTReal } }, 1,
               (const char *const[]) { "LINESTRING ZM (458000 1403100 512.25 0, 458050 1403150 511.5 70.71)" },
               (const char *const[]) { "150" }, 1);
  imp = import_ok (f, own, NULL);
  r = only_report (imp);
  g_assert_null (r->operation);
  t = read_table (f, r->table);
  g_assert_true (t->info->has_z);
  g_assert_true (t->info->has_m);
  line = first_simple_part (row_at (t, 0)->geom);
  g_assert_cmpfloat (OGR_G_GetX (line, 1), ==, 458050);
  g_assert_cmpfloat (OGR_G_GetZ (line, 0), ==, 512.25);
  g_assert_cmpfloat (OGR_G_GetZ (line, 1), ==, 511.5);
  g_assert_cmpfloat (OGR_G_GetM (line, 1), ==, 70.71);
  g_assert_cmpfloat_with_epsilon (row_real (t, row_at (t, 0), "duong_kinh"), 150, 1e-12);
}

/* ---- OpenFileGDB, OSM -------------------------------------------------- */

static void
test_openfilegdb_zip (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("pyogrio/test_fgdb.gdb.zip");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *row;

  if (path == NULL)
    return;
  imp = import_ok (f, path, &(Options) { .layers = (const char *const[]) { "test_points", "test_areas", NULL } });
  g_assert_cmpuint (dothi_import_get_reports (imp)->len, ==, 2);
  r = find_report (imp, "test_points");
  g_assert_cmpint (r->n_features, ==, 2);
  g_assert_cmpint (r->srid, ==, 9218);
  assert_contains (r->operation, "NAD83");
  t = read_table (f, r->table);
  g_assert_cmpstr (t->info->driver, ==, "OpenFileGDB");
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_true (t->info->has_z);
  g_assert_true (t->info->has_m);
  row = find_row (t, "FEATURE_NA", "P9A");
  g_assert_cmpfloat_with_epsilon (row_real (t, row, "TOP_ELEVAT"), 377.48989, 1e-9);
  g_assert_cmpstr (row_text (t, row, "LEVEE_STAT"), ==, "999+99");
  r = find_report (imp, "test_areas");
  g_assert_cmpint (r->n_features, ==, 2);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_cmpuint (n_layers (f), ==, 2);
}

static void
test_osm_pbf (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("osm2pgsql/liechtenstein-2013-08-03.osm.pbf");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *row;

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  g_assert_cmpint (find_report (imp, "points")->n_features, ==, 1359);
  g_assert_cmpint (find_report (imp, "lines")->n_features, ==, 3014);
  g_assert_cmpint (find_report (imp, "multilinestrings")->n_features, ==, 39);
  g_assert_cmpint (find_report (imp, "multipolygons")->n_features, ==, 4104);
  g_assert_cmpint (find_report (imp, "other_relations")->n_features, ==, 12);
  r = find_report (imp, "points");
  g_assert_cmpint (r->srid, ==, 9218);
  assert_contains (r->operation, "VN-2000");
  t = read_table (f, r->table);
  g_assert_cmpint (t->rows->len, ==, 1359);
  row = find_row (t, "osm_id", "58243");
  g_assert_cmpstr (row_text (t, row, "name"), ==, "Vaduz");
  g_assert_cmpstr (row_text (t, row, "place"), ==, "town");
  g_assert_cmpstr (row_text (find_row (t, "osm_id", "23312") ? t : t, find_row (t, "osm_id", "23312"), "name"),
                   ==, "Sassfürkle");
  assert_all_text_nfc (t);
}

static void
test_osm_xml (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("osm2pgsql/test_multipolygon.osm");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;

  if (path == NULL)
    return;
  imp = import_ok (f, path, &(Options) { .layers = (const char *const[]) { "lines", "multipolygons", NULL } });
  g_assert_cmpuint (dothi_import_get_reports (imp)->len, ==, 2);
  g_assert_cmpint (find_report (imp, "lines")->n_features, ==, 19);
  r = find_report (imp, "multipolygons");
  g_assert_cmpint (r->n_features, ==, 47);
  g_assert_cmpint (r->srid, ==, 9218);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  g_assert_cmpstr (row_text (t, find_row (t, "osm_id", "1"), "name"), ==, "Name_rel");
  g_test_message ("test_multipolygon.osm: %" G_GINT64_FORMAT " invalid multipolygons", r->n_invalid);
}

/* ---- formats written here: KML, FlatGeobuf, MapInfo, SpatiaLite -------- */

static const char *const small_names[] = { "Chợ Buôn Ma Thuột", "Hồ Ea Kao", "Nhà thờ Chính toà", "Bảo tàng Đắk Lắk" };
static const char *const small_wkts_9218[] = {
  "POINT (457950.125 1403010.5)", "POINT (460250.25 1398870.75)",
  "POINT (458120.5 1403300.25)", "POINT (458700.75 1402900.125)",
};
static const char *const small_wkts_4326[] = {
  "POINT (108.0443 12.6808)", "POINT (108.0650 12.6420)",
  "POINT (108.0460 12.6830)", "POINT (108.0510 12.6790)",
};

/* Checks the four places; returns the stored geometry kind, which callers
 * assert last (so that a wrong kind does not hide the text checks). */
static DothiGeometryKind
assert_small_table (Fixture *f, DothiImportReport *r, const char *field, gboolean kept)
{
  g_autoptr(Table) t = read_table (f, r->table);

  g_assert_cmpint (r->n_features, ==, 4);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_cmpint (t->rows->len, ==, 4);
  /* Some writers (FlatGeobuf's spatial index) reorder features: by name. */
  for (guint i = 0; i < 4; i++)
    {
      Row *row = find_row (t, field, small_names[i]);
      OGRGeometryH pt = first_simple_part (row->geom);

      if (kept)
        {
          g_autofree char *wkt = g_strdup_printf ("POINT (%.15g %.15g)", OGR_G_GetX (pt, 0), OGR_G_GetY (pt, 0));
          g_assert_cmpstr (wkt, ==, small_wkts_9218[i]);
        }
      else
        {
          /* Buôn Ma Thuột lies 45–50 km west of the 108°30′ meridian. */
          g_assert_cmpfloat (OGR_G_GetX (pt, 0), >, 445000);
          g_assert_cmpfloat (OGR_G_GetX (pt, 0), <, 460000);
          g_assert_cmpfloat (OGR_G_GetY (pt, 0), >, 1395000);
          g_assert_cmpfloat (OGR_G_GetY (pt, 0), <, 1410000);
        }
    }
  if (kept)
    g_assert_null (r->operation);
  else
    assert_contains (r->operation, "VN-2000");
  assert_all_text_nfc (t);
  return t->info->kind;
}

static void
test_kml (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "dia_diem.kml", NULL);
  const char *driver = GDALGetDriverByName ("LIBKML") ? "LIBKML" : "KML";
  g_autoptr(DothiImport) imp = NULL;
  DothiGeometryKind kind;

  write_layer (driver, path, "Địa điểm", 4326, wkbPoint, NULL, NULL,
               (const FieldSpec[]) { { "Name", OFTString } }, 1,
               small_wkts_4326, small_names, 4);
  imp = import_ok (f, path, NULL);
  g_test_message ("KML written with %s, read as %s", driver, only_report (imp)->source_layer);
  g_assert_cmpstr (only_report (imp)->source_layer, ==, "Địa điểm");
  kind = assert_small_table (f, only_report (imp), "Name", FALSE);
  /* A layer of points only is a point layer, whatever type the driver
   * announces (LIBKML says "unknown"). */
  g_assert_cmpint (kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
}

static void
test_flatgeobuf (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "dia_diem.fgb", NULL);
  g_autoptr(DothiImport) imp = NULL;

  write_layer ("FlatGeobuf", path, "dia_diem", 9218, wkbPoint, NULL, NULL,
               (const FieldSpec[]) { { "tên", OFTString } }, 1,
               small_wkts_9218, small_names, 4);
  imp = import_ok (f, path, NULL);
  g_assert_cmpint (assert_small_table (f, only_report (imp), "tên", TRUE), ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
}

/* Replaces every @from in @path with @to. */
static void
patch_file (const char *path, const char *from, const char *to)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree char *patched = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (contents, from));
  parts = g_strsplit (contents, from, -1);
  patched = g_strjoinv (to, parts);
  g_file_set_contents (path, patched, -1, &error);
  g_assert_no_error (error);
}

/* GDAL 3.6's MapInfo driver has no charset for CP1258 ("Cannot find MapInfo
 * charset corresponding to iconv CP1258"), so files are written here with
 * raw bytes under a neutral charset, and the header patched where a file
 * declares its charset. */
static void
test_mapinfo (Fixture *f, gconstpointer data)
{
  static const char *const dsco_mif[] = { "FORMAT=MIF", NULL };
  g_autofree char *utf8_dir = g_build_filename (f->dir, "utf8", NULL);
  g_autofree char *cp_dir = g_build_filename (f->dir, "cp1258", NULL);
  g_autofree char *mif_dir = g_build_filename (f->dir, "mif", NULL);
  g_autofree char *tab_utf8 = g_build_filename (utf8_dir, "dia_diem.tab", NULL);
  g_autofree char *tab_1258 = g_build_filename (cp_dir, "dia_diem_1258.tab", NULL);
  g_autofree char *mif = g_build_filename (mif_dir, "dia_diem_tcvn3.mif", NULL);
  g_autoptr(GPtrArray) tcvn3 = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) cp1258 = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(DothiImport) imp = NULL;
  DothiGeometryKind kind_utf8, kind_1258, kind_mif;

  g_assert_cmpint (g_mkdir (utf8_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (cp_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (mif_dir, 0700), ==, 0);
  for (guint i = 0; i < 4; i++)
    {
      g_ptr_array_add (tcvn3, tcvn3_encode (small_names[i]));
      g_ptr_array_add (cp1258, cp1258_encode (small_names[i]));
    }

  /* UTF-8 text under the neutral charset, as GDAL writes by default. */
  write_layer ("MapInfo File", tab_utf8, "dia_diem", 4326, wkbPoint, NULL, NULL,
               (const FieldSpec[]) { { "Ten", OFTString } }, 1,
               small_wkts_4326, small_names, 4);
  imp = import_ok (f, tab_utf8, NULL);
  g_assert_cmpstr (only_report (imp)->encoding, ==, DOTHI_ENCODING_UTF8);
  g_assert_cmpstr (only_report (imp)->source_layer, ==, "dia_diem");
  kind_utf8 = assert_small_table (f, only_report (imp), "Ten", FALSE);
  g_clear_object (&imp);

  /* CP1258 bytes in a TAB that says so (MapInfo's "WindowsVietnamese"). */
  write_layer ("MapInfo File", tab_1258, "dia_diem_1258", 4326, wkbPoint, NULL, NULL,
               (const FieldSpec[]) { { "Ten", OFTString } }, 1,
               small_wkts_4326, (const char *const *) cp1258->pdata, 4);
  patch_file (tab_1258, "Neutral", "WindowsVietnamese");
  imp = import_ok (f, tab_1258, NULL);
  g_test_message ("MapInfo TAB in WindowsVietnamese read with encoding %s", only_report (imp)->encoding);
  kind_1258 = assert_small_table (f, only_report (imp), "Ten", FALSE);
  g_clear_object (&imp);

  /* MIF with raw TCVN3 bytes and a neutral charset, as old MapInfo
   * exports made with .VnTime fonts are. */
  write_layer ("MapInfo File", mif, "dia_diem_tcvn3", 4326, wkbPoint, dsco_mif, NULL,
               (const FieldSpec[]) { { "Ten", OFTString } }, 1,
               small_wkts_4326, (const char *const *) tcvn3->pdata, 4);
  imp = import_ok (f, mif, NULL);
  g_assert_cmpstr (only_report (imp)->encoding, ==, DOTHI_ENCODING_TCVN3);
  kind_mif = assert_small_table (f, only_report (imp), "Ten", FALSE);

  /* Points only; MapInfo announces "unknown" geometry. */
  g_assert_cmpint (kind_utf8, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpint (kind_1258, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
  g_assert_cmpint (kind_mif, ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
}

static void
test_spatialite_source (Fixture *f, gconstpointer data)
{
  static const char *const dsco[] = { "SPATIALITE=YES", NULL };
  g_autofree char *path = g_build_filename (f->dir, "nguon.sqlite", NULL);
  g_autoptr(DothiImport) imp = NULL;

  write_layer ("SQLite", path, "dia_diem", 9218, wkbPoint, dsco, NULL,
               (const FieldSpec[]) { { "ten", OFTString } }, 1,
               small_wkts_9218, small_names, 4);
  imp = import_ok (f, path, NULL);
  g_assert_cmpstr (only_report (imp)->source_layer, ==, "dia_diem");
  g_assert_cmpint (assert_small_table (f, only_report (imp), "ten", TRUE), ==, DOTHI_GEOMETRY_KIND_MULTIPOINT);
}

/* ---- EPANET ------------------------------------------------------------ */

static void
test_epanet_ky4 (Fixture *f, gconstpointer data)
{
  static const struct { const char *inp_layer; const char *geojson; gint64 n; } parts[] = {
    { "junctions", "wntr/ky4_junctions.geojson", 959 },
    { "pipes", "wntr/ky4_pipes.geojson", 1156 },
    { "pumps", "wntr/ky4_pumps.geojson", 2 },
    { "tanks", "wntr/ky4_tanks.geojson", 4 },
    { "reservoirs", "wntr/ky4_reservoirs.geojson", 1 },
  };
  g_autofree char *inp = dothi_test_shared_path ("wntr/ky4.inp");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(DothiImport) gj = NULL;
  g_autoptr(Table) tj = NULL;
  g_autoptr(Table) gjt = NULL;
  GError *error;
  Row *a, *b;

  if (inp == NULL)
    return;

  error = import_fails (f, inp, NULL);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS);
  assert_contains (error->message, "ky4.inp");
  assert_contains (error->message, "--src-crs");
  g_error_free (error);

  imp = import_ok (f, inp, &(Options) { .src_crs = "EPSG:3547" });
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      DothiImportReport *r = find_report (imp, parts[i].inp_layer);
      g_autofree char *gpath = dothi_test_shared_path (parts[i].geojson);
      g_autoptr(DothiImport) other = NULL;

      g_assert_cmpint (r->n_features, ==, parts[i].n);
      g_assert_cmpint (r->srid, ==, 9218);
      assert_contains (r->operation, "Kentucky");
      if (gpath == NULL)
        return;
      other = import_ok (f, gpath, NULL);
      g_assert_cmpint (only_report (other)->n_features, ==, parts[i].n);
      g_assert_cmpint (only_report (other)->srid, ==, 9218);
    }
  g_assert_cmpint (find_report (imp, "valves")->n_features, ==, 0);

  /* The same junction from both files, in the same place, same SI values. */
  tj = read_table (f, find_report (imp, "junctions")->table);
  gjt = read_table (f, "ky4_junctions");
  g_assert_cmpstr (tj->info->driver, ==, "EPANET");
  a = find_row (tj, "id", "J-1");
  b = find_row (gjt, "name", "J-1");
  g_assert_cmpfloat_with_epsilon (OGR_G_GetX (first_simple_part (a->geom), 0),
                                  OGR_G_GetX (first_simple_part (b->geom), 0), 0.01);
  g_assert_cmpfloat_with_epsilon (OGR_G_GetY (first_simple_part (a->geom), 0),
                                  OGR_G_GetY (first_simple_part (b->geom), 0), 0.01);
  g_assert_cmpfloat_with_epsilon (row_real (tj, a, "elevation_m"), row_real (gjt, b, "elevation"), 1e-6);
  g_assert_cmpfloat_with_epsilon (row_real (tj, a, "demand_lps"), row_real (gjt, b, "base_demand") * 1000, 1e-6);
}

static void
test_epanet_hanoi (Fixture *f, gconstpointer data)
{
  g_autofree char *inp = dothi_test_shared_path ("epanet-hanoi/Hanoi.inp");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) pipes = NULL;
  g_autoptr(Table) res = NULL;
  Row *p1;

  if (inp == NULL)
    return;
  imp = import_ok (f, inp, &(Options) { .src_crs = "EPSG:9218" });
  g_assert_cmpint (find_report (imp, "junctions")->n_features, ==, 31);
  g_assert_cmpint (find_report (imp, "reservoirs")->n_features, ==, 1);
  g_assert_cmpint (find_report (imp, "pipes")->n_features, ==, 34);
  g_assert_cmpint (find_report (imp, "pipes")->srid, ==, 9218);
  g_assert_null (find_report (imp, "pipes")->operation);
  pipes = read_table (f, find_report (imp, "pipes")->table);
  p1 = find_row (pipes, "id", "1");
  g_assert_cmpfloat_with_epsilon (row_real (pipes, p1, "diameter_mm"), 1016, 1e-9);
  g_assert_cmpfloat_with_epsilon (row_real (pipes, p1, "length_m"), 100, 1e-9);
  g_assert_cmpfloat_with_epsilon (row_real (pipes, p1, "roughness"), 130, 1e-9);
  res = read_table (f, find_report (imp, "reservoirs")->table);
  g_assert_cmpfloat_with_epsilon (row_real (res, row_at (res, 0), "head_m"), 100, 1e-9);
}

/* ---- bad input --------------------------------------------------------- */

typedef enum {
  MAKE_NONE,
  MAKE_MISSING,
  MAKE_TRUNCATED_GPKG,
  MAKE_GEOJSON_SYNTAX,
  MAKE_GEOJSON_BAD_COORD,
} MakeBad;

typedef struct {
  const char *shared;      /* under the shared data, or NULL */
  MakeBad     make;
  int         code;
  const char *name_in_message;
  const char *also_in_message;  /* layer, feature or detail; may be NULL */
} BadCase;

static char *
make_bad_file (Fixture *f, MakeBad make)
{
  switch (make)
    {
    case MAKE_MISSING:
      return g_build_filename (f->dir, "khong_co.shp", NULL);

    case MAKE_TRUNCATED_GPKG:
      {
        g_autofree char *full = g_build_filename (f->dir, "full.gpkg", NULL);
        g_autoptr(GPtrArray) wkts = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
        g_autofree char *contents = NULL;
        gsize len = 0;
        g_autoptr(GError) error = NULL;

        for (guint i = 0; i < 3000; i++)
          {
            g_ptr_array_add (wkts, g_strdup_printf ("POINT (%u %u)", 458000 + i, 1403000 + i));
            g_ptr_array_add (values, g_strdup_printf ("Thửa số %u của tờ bản đồ số 5", i));
          }
        write_layer ("GPKG", full, "thua", 9218, wkbPoint, NULL, NULL,
                     (const FieldSpec[]) { { "ghi_chu", OFTString } }, 1,
                     (const char *const *) wkts->pdata, (const char *const *) values->pdata, 3000);
        g_file_get_contents (full, &contents, &len, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (len, >, 100000);
        return write_file (f->dir, "cut.gpkg", contents, (gssize) (len / 2));
      }

    case MAKE_GEOJSON_SYNTAX:
      return write_file (f->dir, "hong.geojson",
                         "{\"type\":\"FeatureCollection\",\"features\":[\n"
                         "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Hà Nội\"},"
                         "\"geometry\":{\"type\":\"Point\",\"coordinates\":[105.85,21.03]}},\n"
                         "{\"type\":\"Feature\" \"properties\":{\"ten\":\"Huế\"},"
                         "\"geometry\":{\"type\":\"Point\",\"coordinates\":[107.59,16.46]}}\n"
                         "]}\n", -1);

    case MAKE_GEOJSON_BAD_COORD:
      return write_file (f->dir, "toa_do_sai.geojson",
                         "{\"type\":\"FeatureCollection\",\"features\":[\n"
                         "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Hà Nội\"},"
                         "\"geometry\":{\"type\":\"Point\",\"coordinates\":[105.85,21.03]}},\n"
                         "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Huế\"},"
                         "\"geometry\":{\"type\":\"Point\",\"coordinates\":[107.59,16.46]}},\n"
                         "{\"type\":\"Feature\",\"properties\":{\"ten\":\"Sai\"},"
                         "\"geometry\":{\"type\":\"Point\",\"coordinates\":[3.141,200.0]}}\n"
                         "]}\n", -1);

    case MAKE_NONE:
    default:
      g_assert_not_reached ();
      return NULL;
    }
}

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  const BadCase *c = data;
  g_autofree char *path = NULL;
  g_autofree char *seed = NULL;
  g_autoptr(DothiImport) first = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *before_sum = NULL;
  g_autofree char *after_sum = NULL;
  g_autoptr(GError) error = NULL;
  const char *table;

  if (c->shared != NULL)
    {
      path = dothi_test_shared_path (c->shared);
      if (path == NULL)
        return;
    }
  else
    path = make_bad_file (f, c->make);

  seed = write_seed_geojson (f->dir, "seed.geojson");
  first = import_ok (f, seed, NULL);
  table = only_report (first)->table;
  before = project_state (f);
  before_sum = dothi_project_layer_checksum (f->project, table, &error);
  g_assert_no_error (error);

  error = import_fails (f, path, NULL);
  g_assert_error (error, DOTHI_ERROR, c->code);
  assert_contains (error->message, c->name_in_message);
  if (c->also_in_message != NULL)
    assert_contains (error->message, c->also_in_message);
  g_clear_error (&error);

  after = project_state (f);
  g_assert_cmpstr (before, ==, after);
  after_sum = dothi_project_layer_checksum (f->project, table, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (before_sum, ==, after_sum);
  g_assert_cmpuint (n_layers (f), ==, 1);

  /* The project still takes an import afterwards. */
  g_clear_object (&first);
  first = import_ok (f, seed, NULL);
  g_assert_cmpuint (n_layers (f), ==, 2);
}

static const BadCase bad_dgn_v8 = {
  "kuboto-microstation/test_v8.dgn", MAKE_NONE, DOTHI_ERROR_UNSUPPORTED, "test_v8.dgn", "DGN v8" };
static const BadCase bad_no_shp = {
  "vn-powergrid-osm/vnm_adm1_no_shp/vnm_admbnda_adm1_gov_20201027.dbf", MAKE_NONE,
  DOTHI_ERROR_INVALID_DATA, "vnm_admbnda_adm1_gov_20201027", ".shp" };
static const BadCase bad_shp = {
  "shapefile-js/bad.shp", MAKE_NONE, DOTHI_ERROR_INVALID_DATA, "bad.shp", NULL };
static const BadCase bad_noshp_zip = {
  "shapefile-js/noshp.zip", MAKE_NONE, DOTHI_ERROR_INVALID_DATA, "noshp.zip", ".shp" };
static const BadCase bad_zip = {
  "shapefile-js/badzip.zip", MAKE_NONE, DOTHI_ERROR_INVALID_DATA, "badzip.zip", NULL };
static const BadCase bad_osm_lat = {
  "osm2pgsql/test_invalid_location.osm", MAKE_NONE, DOTHI_ERROR_INVALID_DATA,
  "test_invalid_location.osm", "lat=200" };
static const BadCase bad_inp = {
  "wntr/bad_syntax.inp", MAKE_NONE, DOTHI_ERROR_INVALID_DATA, "bad_syntax.inp", "[FOO]" };
static const BadCase bad_missing = {
  NULL, MAKE_MISSING, DOTHI_ERROR_NOT_FOUND, "khong_co.shp", NULL };
static const BadCase bad_truncated_gpkg = {
  NULL, MAKE_TRUNCATED_GPKG, DOTHI_ERROR_INVALID_DATA, "cut.gpkg", NULL };
static const BadCase bad_geojson_syntax = {
  NULL, MAKE_GEOJSON_SYNTAX, DOTHI_ERROR_INVALID_DATA, "hong.geojson", NULL };
/* GDAL numbers GeoJSON features from 0: the third is feature 2. */
static const BadCase bad_geojson_coord = {
  NULL, MAKE_GEOJSON_BAD_COORD, DOTHI_ERROR_INVALID_DATA, "toa_do_sai.geojson", "2" };

/* The layer and feature are named where one feature is at fault. */
static void
test_bad_feature_named (Fixture *f, gconstpointer data)
{
  g_autofree char *path = make_bad_file (f, MAKE_GEOJSON_BAD_COORD);
  g_autoptr(GError) error = import_fails (f, path, NULL);

  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "toa_do_sai.geojson");
  assert_contains (error->message, "“toa_do_sai”");
  assert_contains (error->message, "Feature 2 ");
  g_assert_cmpuint (n_layers (f), ==, 0);
}

/* ---- regressions ---------------------------------------------------- */

static const char point_collection_json[] =
  "{\"type\":\"FeatureCollection\",\"features\":["
  "{\"type\":\"Feature\",\"properties\":{\"rowid\":7,\"oid\":8,\"ten\":\"Giếng khoan\"},"
  "\"geometry\":{\"type\":\"GeometryCollection\",\"geometries\":["
  "{\"type\":\"GeometryCollection\",\"geometries\":["
  "{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Point\",\"coordinates\":[108.05,12.68]}]}]},"
  "{\"type\":\"LineString\",\"coordinates\":[[108.05,12.68],[108.06,12.69]]}]}},"
  "{\"type\":\"Feature\",\"properties\":{\"rowid\":9,\"oid\":10,\"ten\":\"Trạm bơm\"},"
  "\"geometry\":{\"type\":\"Point\",\"coordinates\":[108.06,12.69]}}]}";

/* Fields named like SQLite's row id, nested collections, and a long
 * Vietnamese title all import. */
static void
test_regression_names_and_nesting (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f->dir, "Bản đồ hiện trạng giếng khoan và trạm bơm phường Tân Lập thành phố Buôn Ma Thuột năm 2019.geojson",
                                      point_collection_json, -1);
  g_autoptr(DothiImport) imp = import_ok (f, path, NULL);
  DothiImportReport *r = only_report (imp);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f->project, r->table, &error);

  g_assert_no_error (error);
  g_assert_cmpint (r->n_features, ==, 2);
  g_assert_cmpuint (strlen (r->table), <=, 48);
  g_assert_cmpstr (r->title, ==, "Bản đồ hiện trạng giếng khoan và trạm bơm phường Tân Lập thành phố Buôn Ma Thuột năm 2019");
  g_assert_cmpint (info->kind, ==, DOTHI_GEOMETRY_KIND_GEOMETRY);
  g_assert_cmpint (dothi_layer_info_find_field (info, "rowid"), ==, -1);
  g_assert_cmpint (dothi_layer_info_find_field (info, "rowid_1"), >=, 0);
  g_assert_cmpint (dothi_layer_info_find_field (info, "oid_1"), >=, 0);

  /* The same title again gets a table name of its own. */
  {
    g_autoptr(DothiImport) again = import_ok (f, path, NULL);
    g_assert_cmpstr (only_report (again)->table, !=, r->table);
    g_assert_cmpuint (strlen (only_report (again)->table), <=, 60);
  }
}

/* Columns renamed or added by another program are what the project
 * reports and exports; a table dropped there frees its name. */
static void
test_regression_outside_schema_changes (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f->dir, "tram.geojson", point_collection_json, -1);
  g_autoptr(DothiImport) imp = import_ok (f, path, NULL);
  g_autofree char *project_path = g_strdup (dothi_project_get_path (f->project));
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (project_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "ALTER TABLE tram RENAME COLUMN ten TO ten_moi;"
                                     "ALTER TABLE tram ADD COLUMN ghi_chu TEXT;"
                                     "UPDATE tram SET ghi_chu = 'đã kiểm tra'", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);

  info = dothi_project_get_layer (f->project, "tram", &error);
  g_assert_no_error (error);
  g_assert_cmpint (dothi_layer_info_find_field (info, "ten"), ==, -1);
  g_assert_cmpint (dothi_layer_info_find_field (info, "ten_moi"), >=, 0);
  g_assert_cmpint (dothi_layer_info_find_field (info, "ghi_chu"), >=, 0);

  /* Dropped in the spatialite shell: the registry row goes at the next
   * open and the name can be used again. */
  g_clear_object (&f->project);
  g_assert_cmpint (sqlite3_open (project_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "DROP TABLE tram", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  f->project = dothi_project_open (project_path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_layers (f), ==, 0);
  {
    g_autoptr(DothiImport) again = import_ok (f, path, NULL);
    g_assert_cmpstr (only_report (again)->table, ==, "tram");
  }
}

/* ---- invalid geometries ------------------------------------------------ */

static void
test_invalid_heritage (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("legocity-vn/heritage.geojson");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *row;

  if (path == NULL)
    return;
  imp = import_ok (f, path, NULL);
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 14);
  g_assert_cmpint (r->srid, ==, 9218);
  g_assert_cmpint (r->n_invalid, ==, 1);
  g_assert_cmpuint (r->invalid_fids->len, ==, 1);
  g_assert_cmpint (g_array_index (r->invalid_fids, gint64, 0), ==, 7);
  t = read_table (f, r->table);
  row = row_at (t, 7);
  g_assert_cmpstr (row_text (t, row, "Ten"), ==, "Tây Nghệ An");
  g_assert_cmpstr (row_text (t, row, "Trang_Thai"), ==, "Đã được chỉ rõ");
  /* Kept as it came: repaired only when asked. */
  g_assert_false (OGR_G_IsValid (row->geom));
  g_assert_true (OGR_G_IsValid (row_at (t, 0)->geom));
}

static void
test_invalid_make_valid (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("legocity-vn/heritage.geojson");
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(Table) t = NULL;
  DothiImportReport *r;
  Row *row;

  if (path == NULL)
    return;
  imp = import_ok (f, path, &(Options) { .make_valid = TRUE });
  r = only_report (imp);
  g_assert_cmpint (r->n_features, ==, 14);
  g_assert_cmpint (r->n_invalid, ==, 1);
  g_assert_cmpint (g_array_index (r->invalid_fids, gint64, 0), ==, 7);
  t = read_table (f, r->table);
  g_assert_cmpint (t->info->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  row = row_at (t, 7);
  g_assert_cmpstr (row_text (t, row, "Ten"), ==, "Tây Nghệ An");
  g_assert_nonnull (row->geom);
  g_assert_cmpint (wkbFlatten (OGR_G_GetGeometryType (row->geom)), ==, wkbMultiPolygon);
  g_assert_true (OGR_G_IsValid (row->geom));
  g_assert_cmpfloat (OGR_G_Area (row->geom), >, 1e8);   /* a biosphere reserve, not a sliver */
  for (guint i = 0; i < t->rows->len; i++)
    g_assert_true (OGR_G_IsValid (row_at (t, i)->geom));
}

/* ---- async ------------------------------------------------------------- */

typedef struct {
  gboolean      done;
  gboolean      ok;
  GError       *error;
  GArray       *fractions;
  guint         off_main;
  GCancellable *cancel_on_progress;
} AsyncState;

static void
on_progress (double fraction, const char *stage, gpointer user_data)
{
  AsyncState *st = user_data;

  if (g_thread_self () != main_thread)
    st->off_main++;
  g_assert_nonnull (stage);
  g_array_append_val (st->fractions, fraction);
  if (st->cancel_on_progress != NULL)
    g_cancellable_cancel (st->cancel_on_progress);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *st = user_data;

  g_assert_true (g_thread_self () == main_thread);
  st->ok = dothi_import_run_finish (DOTHI_IMPORT (source), result, &st->error);
  st->done = TRUE;
}

static void
run_async (DothiImport *imp, GCancellable *cancellable, AsyncState *st)
{
  st->fractions = g_array_new (FALSE, FALSE, sizeof (double));
  dothi_import_run_async (imp, cancellable, on_progress, st, on_done, st);
  while (!st->done)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
test_async_progress (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("osm2pgsql/liechtenstein-2013-08-03.osm.pbf");
  g_autoptr(DothiImport) imp = NULL;
  AsyncState st = { 0 };
  double last = 0;
  guint n_known = 0;

  if (path == NULL)
    return;
  imp = new_import (f, path, &(Options) { .layers = (const char *const[]) { "points", "multipolygons", NULL } });
  run_async (imp, NULL, &st);
  g_assert_no_error (st.error);
  g_assert_true (st.ok);
  g_assert_cmpuint (st.off_main, ==, 0);
  g_assert_cmpuint (st.fractions->len, >=, 2);
  for (guint i = 0; i < st.fractions->len; i++)
    {
      double x = g_array_index (st.fractions, double, i);
      if (x < 0)
        continue;   /* total unknown */
      g_assert_cmpfloat (x, >=, last);
      g_assert_cmpfloat (x, <=, 1.0);
      last = x;
      n_known++;
    }
  g_assert_cmpuint (n_known, >=, 2);
  g_assert_cmpfloat (g_array_index (st.fractions, double, st.fractions->len - 1), ==, 1.0);

  g_assert_cmpuint (dothi_import_get_reports (imp)->len, ==, 2);
  g_assert_cmpint (find_report (imp, "points")->n_features, ==, 1359);
  g_assert_cmpint (find_report (imp, "multipolygons")->n_features, ==, 4104);
  /* The worker's commit is visible to the caller's own connection. */
  g_assert_cmpuint (n_layers (f), ==, 2);
  g_array_unref (st.fractions);
}

static void
test_async_cancel (Fixture *f, gconstpointer data)
{
  g_autofree char *path = dothi_test_shared_path ("osm2pgsql/liechtenstein-2013-08-03.osm.pbf");
  g_autofree char *seed = NULL;
  g_autoptr(DothiImport) first = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  AsyncState st = { 0 };

  if (path == NULL)
    return;
  seed = write_seed_geojson (f->dir, "seed.geojson");
  first = import_ok (f, seed, NULL);
  before = project_state (f);

  imp = new_import (f, path, NULL);
  st.cancel_on_progress = cancellable;
  run_async (imp, cancellable, &st);
  g_assert_false (st.ok);
  g_assert_error (st.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (st.off_main, ==, 0);
  g_assert_cmpuint (dothi_import_get_reports (imp)->len, ==, 0);
  after = project_state (f);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpuint (n_layers (f), ==, 1);
  g_clear_error (&st.error);
  g_array_unref (st.fractions);
}

/* ---- audit ------------------------------------------------------------- */

static void
test_audit_import_one_row (Fixture *f, gconstpointer data)
{
  g_autofree char *seed = write_seed_geojson (f->dir, "seed.geojson");
  g_autoptr(DothiImport) imp = import_ok (f, seed, NULL);
  const char *table = only_report (imp)->table;
  g_autofree char *sql = NULL;
  g_autofree char *op = NULL;
  g_autofree char *user = NULL;
  sqlite3 *db = open_db (f);

  g_assert_cmpstr (table, ==, "seed");
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit WHERE layer = 'seed'"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit"), ==, 1);
  op = db_text (db, "SELECT op FROM dothi_audit WHERE layer = 'seed'");
  g_assert_cmpstr (op, ==, "import");
  user = db_text (db, "SELECT user FROM dothi_audit WHERE layer = 'seed'");
  g_assert_cmpstr (user, ==, g_get_user_name ());
  g_assert_cmpint (db_int (db, "SELECT action_id IS NOT NULL FROM dothi_audit WHERE layer = 'seed'"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_actions"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_context"), ==, 0);
  g_assert_cmpint (db_int (db, "SELECT count(*) FROM seed"), ==, 3);
  /* Registered with its CRS, as QGIS reads it. */
  g_assert_cmpint (db_int (db, "SELECT srid FROM geometry_columns WHERE f_table_name = 'seed'"), ==, 9218);
  db_close (db);
}

static void
test_audit_external_update (Fixture *f, gconstpointer data)
{
  g_autofree char *seed = write_seed_geojson (f->dir, "seed.geojson");
  g_autoptr(DothiImport) imp = import_ok (f, seed, NULL);
  g_autofree char *user = NULL;
  g_autofree char *op = NULL;
  g_autofree char *before_ten = NULL;
  g_autofree char *after_ten = NULL;
  g_autofree char *before_ma = NULL;
  char *err = NULL;
  sqlite3 *db = open_db (f);
  int rc;

  /* A second connection without Dothi, as QGIS or the sqlite3 shell. */
  rc = sqlite3_exec (db, "UPDATE seed SET ten = 'Chợ Lớn' WHERE fid = 1", NULL, NULL, &err);
  if (rc != SQLITE_OK)
    g_test_message ("UPDATE failed: %s", err);
  g_assert_cmpint (rc, ==, SQLITE_OK);
  sqlite3_free (err);

  g_assert_cmpint (db_int (db, "SELECT count(*) FROM dothi_audit WHERE layer = 'seed'"), ==, 2);
  op = db_text (db, "SELECT op FROM dothi_audit WHERE layer = 'seed' ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (op, ==, "update");
  user = db_text (db, "SELECT user FROM dothi_audit WHERE layer = 'seed' ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (user, ==, "external");
  g_assert_cmpint (db_int (db, "SELECT fid FROM dothi_audit WHERE layer = 'seed' ORDER BY id DESC LIMIT 1"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT action_id IS NULL FROM dothi_audit ORDER BY id DESC LIMIT 1"), ==, 1);
  before_ten = db_text (db, "SELECT json_extract(before_attrs, '$.ten') FROM dothi_audit ORDER BY id DESC LIMIT 1");
  after_ten = db_text (db, "SELECT json_extract(after_attrs, '$.ten') FROM dothi_audit ORDER BY id DESC LIMIT 1");
  before_ma = db_text (db, "SELECT json_extract(before_attrs, '$.ma') FROM dothi_audit ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr (before_ten, ==, "Chợ Buôn Ma Thuột");
  g_assert_cmpstr (after_ten, ==, "Chợ Lớn");
  g_assert_cmpstr (before_ma, ==, "00123");
  g_assert_cmpint (db_int (db, "SELECT json_valid(before_attrs) AND json_valid(after_attrs) "
                               "FROM dothi_audit ORDER BY id DESC LIMIT 1"), ==, 1);
  g_assert_cmpint (db_int (db, "SELECT before_geom IS NOT NULL AND after_geom IS NOT NULL "
                               "FROM dothi_audit ORDER BY id DESC LIMIT 1"), ==, 1);
  db_close (db);

  /* Dothi sees the edit. */
  {
    g_autoptr(Table) t = read_table (f, "seed");
    g_assert_cmpstr (row_text (t, row_at (t, 0), "ten"), ==, "Chợ Lớn");
  }
}

/* ---- the default style knows every class ------------------------------ */

/* A city whose first 1 200 parcels are urban land (ODT) and whose last
 * 100, an outer commune's, are rice fields (LUC): the import indexes the
 * land-use field, and the default style colours LUC as the standard
 * does, not as "other"; without the index it would only see the first
 * 1 000 rows. */
static void
test_default_style_every_class (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) json = g_string_new ("{\"type\": \"FeatureCollection\", "
                                          "\"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:9218\"}}, "
                                          "\"features\": [");
  g_autofree char *path = NULL;
  g_autoptr(DothiImport) imp = NULL;
  g_autoptr(DothiStyle) style = NULL;
  g_autoptr(DothiStyle) sample = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  const DothiSymbol *luc;
  DothiColor expected;
  sqlite3 *db;

  for (guint i = 0; i < 1300; i++)
    {
      double x = 457000 + (i % 50) * 20, y = 1402000 + (i / 50) * 20;

      g_string_append_printf (json, "%s{\"type\": \"Feature\", \"properties\": {\"so_thua\": \"%u\", "
                              "\"muc_dich\": \"%s\"}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
                              "[[[%g, %g], [%g, %g], [%g, %g], [%g, %g], [%g, %g]]]}}",
                              i > 0 ? ", " : "", i + 1, i < 1200 ? "ODT" : "LUC",
                              x, y, x + 19, y, x + 19, y + 19, x, y + 19, x, y);
    }
  g_string_append (json, "]}");
  path = write_file (f->dir, "thua_dat.geojson", json->str, json->len);
  imp = import_ok (f, path, NULL);

  db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
  g_assert_cmpint (sqlite3_exec (db, "SELECT 1 FROM sqlite_master WHERE name = 'dothi_ix_thua_dat_muc_dich'",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_true (dothi_spatialite_store_field_indexed (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)),
                                                       "thua_dat", "muc_dich"));
  style = dothi_project_dup_style (f->project, "thua_dat", &error);
  g_assert_no_error (error);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "muc_dich");
  g_assert_cmpuint (style->rules->len, ==, 2);
  luc = dothi_style_lookup_text (style, "LUC");
  g_assert_nonnull (luc);
  g_assert_true (luc != &style->other);
  g_assert_true (dothi_style_land_use_color ("LUC", &expected));
  g_assert_cmpfloat_with_epsilon (luc->fill.r, expected.r, 1e-6);
  g_assert_cmpfloat_with_epsilon (luc->fill.g, expected.g, 1e-6);
  g_assert_cmpfloat_with_epsilon (luc->fill.b, expected.b, 1e-6);
  /* Without the index (a project imported before), the first 1 000 rows
   * alone: LUC unseen. */
  g_assert_cmpint (sqlite3_exec (db, "DROP INDEX dothi_ix_thua_dat_muc_dich", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_false (dothi_spatialite_store_field_indexed (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)),
                                                        "thua_dat", "muc_dich"));
  info = dothi_project_get_layer (f->project, "thua_dat", &error);
  g_assert_no_error (error);
  sample = dothi_store_sample_default_style (dothi_project_get_store (f->project), info);
  g_assert_cmpuint (sample->rules->len, ==, 1);
  g_assert_true (dothi_style_lookup_text (sample, "LUC") == &sample->other);
}

/* ---- main -------------------------------------------------------------- */

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);
  main_thread = g_thread_self ();

  g_test_add_func ("/import/encoding/test-encoders", test_encoders_sane);

  ADD ("/import/default-style/every-class", test_default_style_every_class, NULL);
  ADD ("/import/gml/vilis-cadastral", test_gml_vilis, NULL);
  ADD ("/import/regression/names-and-nesting", test_regression_names_and_nesting, NULL);
  ADD ("/import/regression/outside-schema-changes", test_regression_outside_schema_changes, NULL);
  ADD ("/import/crosscheck/vilis-in-tan-lap-2025", test_crosscheck_tan_lap, NULL);
  ADD ("/import/geojson/legocity-nfc", test_geojson_legocity_nfc, NULL);
  ADD ("/import/geojson/gzip", test_geojson_gzip, NULL);
  ADD ("/import/geojson/bare-array", test_geojson_bare_array, NULL);

  ADD ("/import/shapefile/saigon-d7", test_shapefile_saigon, NULL);
  ADD ("/import/shapefile/zips", test_shapefile_zips, NULL);
  ADD ("/import/shapefile/null-geometries", test_shapefile_null_geometries, NULL);
  ADD ("/import/shapefile/cpg-ansi-1250", test_shapefile_codepage_1250, NULL);
  ADD ("/import/shapefile/tcvn3/auto", test_legacy_auto, &legacy_tcvn3);
  ADD ("/import/shapefile/tcvn3/explicit", test_legacy_explicit, &legacy_tcvn3);
  ADD ("/import/shapefile/vni/auto", test_legacy_auto, &legacy_vni);
  ADD ("/import/shapefile/vni/explicit", test_legacy_explicit, &legacy_vni);
  ADD ("/import/shapefile/cp1258/cpg", test_legacy_auto, &legacy_cp1258);
  ADD ("/import/shapefile/cp1258/explicit", test_legacy_explicit, &legacy_cp1258);
  ADD ("/import/shapefile/utf8-file-name-legacy-dbf", test_legacy_utf8_file_name, NULL);
  ADD ("/import/shapefile/tcvn3-caps-fields", test_tcvn3_caps, NULL);
  ADD ("/import/preview/decoded-writes-nothing", test_preview, NULL);

  ADD ("/import/csv/vni-attributes", test_csv_vni_attributes, NULL);
  ADD ("/import/csv/xy-geometry", test_csv_xy_geometry, NULL);
  ADD ("/import/csv/tcvn3-wkt", test_csv_tcvn3_wkt, NULL);
  ADD ("/import/dxf/tcvn3/explicit", test_dxf_tcvn3_explicit, NULL);
  ADD ("/import/dxf/tcvn3/auto", test_dxf_tcvn3_auto, NULL);
  ADD ("/import/dgn/tag-src-crs", test_dgn_tag, NULL);
  ADD ("/import/dgn/out-3d", test_dgn_out_3d, NULL);
  ADD ("/import/gpkg/curves", test_gpkg_curves, NULL);
  ADD ("/import/gpkg/nulls", test_gpkg_nulls, NULL);
  ADD ("/import/gpkg/zm", test_gpkg_zm, NULL);
  ADD ("/import/openfilegdb/zip", test_openfilegdb_zip, NULL);
  ADD ("/import/osm/pbf", test_osm_pbf, NULL);
  ADD ("/import/osm/xml", test_osm_xml, NULL);
  ADD ("/import/kml", test_kml, NULL);
  ADD ("/import/flatgeobuf", test_flatgeobuf, NULL);
  ADD ("/import/mapinfo", test_mapinfo, NULL);
  ADD ("/import/spatialite", test_spatialite_source, NULL);
  ADD ("/import/epanet/ky4", test_epanet_ky4, NULL);
  ADD ("/import/epanet/hanoi", test_epanet_hanoi, NULL);

  ADD ("/import/bad/dgn-v8", test_bad_input, &bad_dgn_v8);
  ADD ("/import/bad/shapefile-without-shp", test_bad_input, &bad_no_shp);
  ADD ("/import/bad/bad-shp", test_bad_input, &bad_shp);
  ADD ("/import/bad/noshp-zip", test_bad_input, &bad_noshp_zip);
  ADD ("/import/bad/badzip", test_bad_input, &bad_zip);
  ADD ("/import/bad/osm-lat-200", test_bad_input, &bad_osm_lat);
  ADD ("/import/bad/epanet-syntax", test_bad_input, &bad_inp);
  ADD ("/import/bad/missing-file", test_bad_input, &bad_missing);
  ADD ("/import/bad/truncated-gpkg", test_bad_input, &bad_truncated_gpkg);
  ADD ("/import/bad/geojson-syntax", test_bad_input, &bad_geojson_syntax);
  ADD ("/import/bad/geojson-coordinate", test_bad_input, &bad_geojson_coord);
  ADD ("/import/bad/feature-named", test_bad_feature_named, NULL);

  ADD ("/import/invalid/heritage-counted", test_invalid_heritage, NULL);
  ADD ("/import/invalid/heritage-make-valid", test_invalid_make_valid, NULL);

  ADD ("/import/async/progress", test_async_progress, NULL);
  ADD ("/import/async/cancel", test_async_cancel, NULL);

  ADD ("/import/audit/one-row-per-import", test_audit_import_one_row, NULL);
  ADD ("/import/audit/external-update", test_audit_external_update, NULL);

  return g_test_run ();
}
