/* test-print.c: printing layouts (issue 9) checked from the outside: page
 * sizes and counts with pdfinfo, the Vietnamese text with pdftotext, the
 * scale by measuring two lines 100 m apart on the rendered page, atlases,
 * bad input that must write nothing, the parcel extract, SVG, PNG and the
 * preview, on a generated demo city and a small project made with GDAL. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-layout.h"
#include "dothi-print.h"
#include "dothi-project.h"
#include "dothi-spatialite-store.h"
#include "test-util.h"

#include <cairo.h>
#include <cpl_conv.h>
#include <gdal.h>
#include <glib/gstdio.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <string.h>

#define DEMO_PARCELS 2000
#define DEMO_SEED 11

/* The small project: two vertical lines 100 m long and 100 m apart
 * around (SMALL_CX, SMALL_CY), three sheets and an empty polygon layer. */
#define SMALL_CX 458000.0
#define SMALL_CY 1403000.0

/* NFC, written with escapes so that no editor can decompose it. */
#define PLANNING_TITLE "B\xe1\xba\xa2N \xc4\x90\xe1\xbb\x92 QUY HO\xe1\xba\xa0" \
                       "CH S\xe1\xbb\xac D\xe1\xbb\xa4NG \xc4\x90\xe1\xba\xa4T"

/* A3 and A4 in PostScript points. */
#define A3_LONG_PT  1190.55
#define A3_SHORT_PT 841.89
#define A4_SHORT_PT 595.28
#define A4_LONG_PT  841.89

static char *shared_dir;
static char *demo_project;
static char *small_project;
static gboolean small_has_empty_layer;

typedef struct {
  char         *dir;     /* output folder, empty at the start */
  char         *path;    /* a copy of the demo project */
  char         *small;   /* a copy of the small project */
  DothiProject *project; /* @path, open */
} Fixture;

/* ---- projects ----------------------------------------------------------- */

static const char *
make_demo_project (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  g_autofree char *gpkg = NULL;

  if (demo_project != NULL)
    return demo_project;

  gpkg = g_build_filename (shared_dir, "city.gpkg", NULL);
  dothi_demo_city_write (gpkg, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  demo_project = g_build_filename (shared_dir, "demo.dothi", NULL);
  project = dothi_project_create (demo_project, NULL, &error);
  g_assert_no_error (error);
  import = dothi_import_new (project, gpkg);
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dothi_project_checkpoint (project, &error);
  g_assert_no_error (error);
  dothi_project_close (project);
  return demo_project;
}

/* Writes layer @name of @gtype in EPSG:9218 into the GeoPackage @ds with
 * one text field "ten" and an integer "so"; @wkts and @names have @n rows. */
static void
write_gpkg_layer (GDALDatasetH ds, const char *name, OGRwkbGeometryType gtype,
                  const char *const *wkts, const char *const *names, guint n)
{
  g_auto(OGRSpatialReferenceH) srs = OSRNewSpatialReference (NULL);
  OGRLayerH layer;
  OGRFieldDefnH fd;

  g_assert_cmpint (OSRImportFromEPSG (srs, 9218), ==, OGRERR_NONE);
  OSRSetAxisMappingStrategy (srs, OAMS_TRADITIONAL_GIS_ORDER);
  layer = GDALDatasetCreateLayer (ds, name, srs, gtype, NULL);
  g_assert_nonnull (layer);
  fd = OGR_Fld_Create ("ten", OFTString);
  g_assert_cmpint (OGR_L_CreateField (layer, fd, TRUE), ==, OGRERR_NONE);
  OGR_Fld_Destroy (fd);
  fd = OGR_Fld_Create ("so", OFTInteger);
  g_assert_cmpint (OGR_L_CreateField (layer, fd, TRUE), ==, OGRERR_NONE);
  OGR_Fld_Destroy (fd);
  for (guint i = 0; i < n; i++)
    {
      g_auto(OGRFeatureH) feat = OGR_F_Create (OGR_L_GetLayerDefn (layer));
      OGRGeometryH g = NULL;
      char *wkt = (char *) wkts[i];

      OGR_F_SetFieldString (feat, 0, names[i]);
      OGR_F_SetFieldInteger (feat, 1, (int) i + 1);
      g_assert_cmpint (OGR_G_CreateFromWkt (&wkt, srs, &g), ==, OGRERR_NONE);
      OGR_F_SetGeometryDirectly (feat, g);
      g_assert_cmpint (OGR_L_CreateFeature (layer, feat), ==, OGRERR_NONE);
    }
}

/* Layer "thua_dat": parcel 123 of sheet 8, an L with a bent foot (seven
 * vertices, 1 386.085 m²), and its neighbour 124 to the east. */
static void
write_parcel_layer (GDALDatasetH ds)
{
  g_auto(OGRSpatialReferenceH) srs = OSRNewSpatialReference (NULL);
  const double ox = SMALL_CX + 1000, oy = SMALL_CY;
  const double ring[][2] = {
    { 0, 0 }, { 10, -3.3 }, { 40, 0 }, { 40, 20 }, { 20.5, 20 }, { 20.5, 45.37 }, { 0, 45.37 }, { 0, 0 },
  };
  const struct { const char *name; OGRFieldType type; } fields[] = {
    { "so_to", OFTInteger }, { "so_thua", OFTInteger }, { "ten_chu", OFTString }, { "muc_dich", OFTString },
  };
  GString *wkt = g_string_new ("POLYGON ((");
  OGRLayerH layer;

  g_assert_cmpint (OSRImportFromEPSG (srs, 9218), ==, OGRERR_NONE);
  OSRSetAxisMappingStrategy (srs, OAMS_TRADITIONAL_GIS_ORDER);
  layer = GDALDatasetCreateLayer (ds, "thua_dat", srs, wkbPolygon, NULL);
  g_assert_nonnull (layer);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      OGRFieldDefnH fd = OGR_Fld_Create (fields[i].name, fields[i].type);
      g_assert_cmpint (OGR_L_CreateField (layer, fd, TRUE), ==, OGRERR_NONE);
      OGR_Fld_Destroy (fd);
    }
  for (guint i = 0; i < G_N_ELEMENTS (ring); i++)
    {
      char x[G_ASCII_DTOSTR_BUF_SIZE], y[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (wkt, "%s%s %s", i ? ", " : "",
                              g_ascii_dtostr (x, sizeof x, ox + ring[i][0]),
                              g_ascii_dtostr (y, sizeof y, oy + ring[i][1]));
    }
  g_string_append (wkt, "))");
  for (int k = 0; k < 2; k++)
    {
      g_auto(OGRFeatureH) feat = OGR_F_Create (OGR_L_GetLayerDefn (layer));
      g_autofree char *rect = g_strdup_printf ("POLYGON ((%.2f %.2f, %.2f %.2f, %.2f %.2f, %.2f %.2f, %.2f %.2f))",
                                               ox + 40, oy, ox + 70, oy, ox + 70, oy + 20, ox + 40, oy + 20, ox + 40, oy);
      char *text = k == 0 ? wkt->str : rect;
      OGRGeometryH g = NULL;

      OGR_F_SetFieldInteger (feat, 0, 8);
      OGR_F_SetFieldInteger (feat, 1, 123 + k);
      OGR_F_SetFieldString (feat, 2, k == 0 ? "Nguyễn Thị Ánh Tuyết" : "Trần Văn Bình");
      OGR_F_SetFieldString (feat, 3, "ODT");
      g_assert_cmpint (OGR_G_CreateFromWkt (&text, srs, &g), ==, OGRERR_NONE);
      OGR_F_SetGeometryDirectly (feat, g);
      g_assert_cmpint (OGR_L_CreateFeature (layer, feat), ==, OGRERR_NONE);
    }
  g_string_free (wkt, TRUE);
}

static void
import_file (DothiProject *project, const char *source, GError **error)
{
  g_autoptr(DothiImport) import = dothi_import_new (project, source);

  dothi_import_run_sync (import, NULL, NULL, NULL, error);
}

static const char *
make_small_project (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *gpkg = g_build_filename (shared_dir, "small.gpkg", NULL);
  g_autofree char *empty = g_build_filename (shared_dir, "empty.gpkg", NULL);
  GDALDriverH drv = GDALGetDriverByName ("GPKG");
  GDALDatasetH ds;
  const double x0 = SMALL_CX - 50, x1 = SMALL_CX + 50;
  const double y0 = SMALL_CY - 50, y1 = SMALL_CY + 50;
  g_autofree char *line_a = g_strdup_printf ("LINESTRING (%.3f %.3f, %.3f %.3f)", x0, y0, x0, y1);
  g_autofree char *line_b = g_strdup_printf ("LINESTRING (%.3f %.3f, %.3f %.3f)", x1, y0, x1, y1);
  const char *lines[] = { line_a, line_b };
  const char *line_names[] = { "tây", "đông" };
  char *sheets[3];
  const char *sheet_names[] = { "Tờ A", "Tờ B", "Tờ C" };

  if (small_project != NULL)
    return small_project;

  g_assert_nonnull (drv);
  for (int i = 0; i < 3; i++)
    {
      double sx = SMALL_CX - 300 + 200 * i, sy = SMALL_CY - 75;
      sheets[i] = g_strdup_printf ("POLYGON ((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f))",
                                   sx, sy, sx + 200, sy, sx + 200, sy + 150, sx, sy + 150, sx, sy);
    }
  ds = GDALCreate (drv, gpkg, 0, 0, 0, GDT_Unknown, NULL);
  g_assert_nonnull (ds);
  write_gpkg_layer (ds, "scale_lines", wkbLineString, lines, line_names, 2);
  write_gpkg_layer (ds, "sheets", wkbPolygon, (const char *const *) sheets, sheet_names, 3);
  write_parcel_layer (ds);
  GDALClose (ds);
  for (int i = 0; i < 3; i++)
    g_free (sheets[i]);

  ds = GDALCreate (drv, empty, 0, 0, 0, GDT_Unknown, NULL);
  g_assert_nonnull (ds);
  write_gpkg_layer (ds, "empty_sheets", wkbPolygon, NULL, NULL, 0);
  GDALClose (ds);

  small_project = g_build_filename (shared_dir, "small.dothi", NULL);
  project = dothi_project_create (small_project, NULL, &error);
  g_assert_no_error (error);
  import_file (project, gpkg, &error);
  g_assert_no_error (error);
  /* An empty layer may be refused by the import: then the empty atlas is
   * only checked with a condition that picks nothing. */
  import_file (project, empty, &error);
  small_has_empty_layer = (error == NULL);
  if (error != NULL)
    g_test_message ("the import refuses an empty layer: %s", error->message);
  g_clear_error (&error);
  dothi_project_checkpoint (project, &error);
  g_assert_no_error (error);
  dothi_project_close (project);
  return small_project;
}

static char *
copy_into (const char *source, const char *dir, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) from = g_file_new_for_path (source);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GFile) to = g_file_new_for_path (path);

  g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return path;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *projects = NULL;

  make_demo_project ();
  make_small_project ();
  /* Projects in one folder, outputs in another that must stay clean. */
  projects = dothi_test_mkdtemp ();
  f->dir = g_build_filename (projects, "out", NULL);
  g_assert_cmpint (g_mkdir (f->dir, 0700), ==, 0);
  f->path = copy_into (demo_project, projects, "city.dothi");
  f->small = copy_into (small_project, projects, "small.dothi");
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autofree char *projects = g_path_get_dirname (f->path);

  if (f->project != NULL)
    dothi_project_close (f->project);
  g_clear_object (&f->project);
  dothi_test_rmdir (projects);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->small);
}

static sqlite3 *
project_db (Fixture *f)
{
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (f->project)));
}

/* One number from @sql (no user input) on the demo project. */
static double
sql_double (Fixture *f, const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (project_db (f), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_double (stmt, 0);
}

/* ---- tools -------------------------------------------------------------- */

/* TRUE when pdfinfo, pdftotext, pdftoppm and pdftocairo are there; else
 * the test is skipped. */
static gboolean
have_poppler (void)
{
  const char *tools[] = { "pdfinfo", "pdftotext", "pdftoppm" };

  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree char *found = g_find_program_in_path (tools[i]);
      if (found == NULL)
        {
          g_autofree char *msg = g_strdup_printf ("%s is missing (apt-get install poppler-utils)", tools[i]);
          g_test_skip (msg);
          return FALSE;
        }
    }
  return TRUE;
}

/* Runs @argv; asserts it exits 0 and returns its stdout; *@err_out (if
 * given) gets its stderr. */
static char *
run_tool (const char *const *argv, char **err_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("%s failed: %s", argv[0], err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  if (err_out != NULL)
    *err_out = g_steal_pointer (&err);
  return g_steal_pointer (&out);
}

typedef struct {
  double width_pt, height_pt;
  int    pages;
} PdfInfo;

static PdfInfo
pdf_info (const char *path)
{
  const char *argv[] = { "pdfinfo", path, NULL };
  g_autofree char *out = run_tool (argv, NULL);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  PdfInfo info = { 0, 0, -1 };

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "Pages:"))
        info.pages = atoi (lines[i] + strlen ("Pages:"));
      else if (g_str_has_prefix (lines[i], "Page size:"))
        {
          char *end = NULL;
          info.width_pt = g_ascii_strtod (lines[i] + strlen ("Page size:"), &end);
          while (*end == ' ' || *end == 'x')
            end++;
          info.height_pt = g_ascii_strtod (end, NULL);
        }
    }
  return info;
}

static void
assert_pdf_page (const char *path, double width_pt, double height_pt, int pages)
{
  PdfInfo info = pdf_info (path);

  g_assert_cmpint (info.pages, ==, pages);
  g_assert_cmpfloat_with_epsilon (info.width_pt, width_pt, 1.0);
  g_assert_cmpfloat_with_epsilon (info.height_pt, height_pt, 1.0);
}

/* The text of pages @first..@last (1-based; 0: all) of @path. */
static char *
pdf_text (const char *path, int first, int last)
{
  g_autofree char *f = g_strdup_printf ("%d", first);
  g_autofree char *l = g_strdup_printf ("%d", last);
  const char *argv_all[] = { "pdftotext", "-enc", "UTF-8", "-layout", path, "-", NULL };
  const char *argv_pages[] = { "pdftotext", "-enc", "UTF-8", "-layout", "-f", f, "-l", l, path, "-", NULL };
  char *text = run_tool (first > 0 ? argv_pages : argv_all, NULL);

  g_assert_true (g_utf8_validate (text, -1, NULL));
  return text;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("the text does not contain “%s”:\n%s", needle, haystack);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

/* The scale's and the legend's headings, in the cases a title block or a
 * legend may print them (both spellings of "tỉ lệ" are in use). */
static const char *const scale_words[] = { "Tỉ lệ", "TỈ LỆ", "Tỷ lệ", "TỶ LỆ", NULL };
static const char *const legend_words[] = { "Chú giải", "CHÚ GIẢI", NULL };

static void
assert_contains_any (const char *haystack, const char *const *needles, const char *what)
{
  for (guint i = 0; needles[i] != NULL; i++)
    if (strstr (haystack, needles[i]) != NULL)
      {
        g_test_message ("%s: “%s”", what, needles[i]);
        return;
      }
  g_test_message ("the text has no %s (“%s”):\n%s", what, needles[0], haystack);
  g_assert_not_reached ();
}

/* pdftoppm renders every page of @path at 30 dpi without complaint. */
static void
assert_pdf_renders (const char *path, const char *dir)
{
  g_autofree char *prefix = g_build_filename (dir, "render-check", NULL);
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;
  const char *argv[] = { "pdftoppm", "-r", "30", "-png", path, prefix, NULL };
  g_autoptr(GDir) d = NULL;
  const char *name;

  out = run_tool (argv, &err);
  if (err != NULL && *err != '\0')
    g_test_message ("pdftoppm: %s", err);
  g_assert_true (err == NULL || strstr (err, "Error") == NULL);
  /* Its pages go away: the folder is checked for leftovers elsewhere. */
  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "render-check"))
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);
        g_unlink (p);
      }
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in @dir, sorted and joined with "|". */
static char *
dir_listing (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv ("|", (char **) names->pdata);
}

/* ---- layouts ------------------------------------------------------------ */

static DothiLayout *
layout_from_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  DothiLayout *layout = dothi_layout_new_from_json (json, &error);

  if (error != NULL)
    g_test_message ("layout refused: %s\n%s", error->message, json);
  g_assert_no_error (error);
  g_assert_nonnull (layout);
  return layout;
}

static DothiLayout *
planning_template (Fixture *f, const char *page)
{
  g_autoptr(GError) error = NULL;
  DothiLayout *layout = dothi_layout_new_template (f->project, "planning", page, PLANNING_TITLE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (layout);
  return layout;
}

static gboolean
print_to (const char *project, DothiLayout *layout, DothiPrintFormat format, double dpi,
          const char *atlas_layer, const char *atlas_where, const char *out, GError **error)
{
  DothiPrintOptions options = { format, dpi, atlas_layer, atlas_where };

  return dothi_print_sync (project, layout, &options, out, NULL, NULL, NULL, error);
}

/* A map frame of one layer over A4 landscape at 1:@scale centred on the
 * small project's lines, no grid, no labels. */
static char *
scale_layout_json (double scale)
{
  char cx[G_ASCII_DTOSTR_BUF_SIZE], cy[G_ASCII_DTOSTR_BUF_SIZE], n[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup_printf ("{\"name\": \"scale\", \"page\": {\"size\": \"A4\", \"orientation\": \"landscape\"},"
                          " \"items\": [{\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10,"
                          " \"w\": 277, \"h\": 190, \"scale\": %s, \"center\": [%s, %s],"
                          " \"layers\": [\"scale_lines\"], \"grid\": 0, \"labels\": false}]}",
                          g_ascii_dtostr (n, sizeof n, scale),
                          g_ascii_dtostr (cx, sizeof cx, SMALL_CX),
                          g_ascii_dtostr (cy, sizeof cy, SMALL_CY));
}

/* The three sheets as an atlas: a map that fits each sheet, and a text
 * with the page variables and the sheet's name. */
static const char sheets_atlas_json[] =
  "{\"name\": \"Tờ bản đồ\", \"page\": {\"size\": \"A4\", \"orientation\": \"landscape\"},"
  " \"items\": ["
  "  {\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 30, \"w\": 277, \"h\": 170,"
  "   \"layers\": [\"sheets\", \"scale_lines\"], \"grid\": 0},"
  "  {\"type\": \"text\", \"x\": 10, \"y\": 8, \"w\": 277, \"h\": 15,"
  "   \"text\": \"Trang {page}/{pages} – {ten}\", \"size\": 14, \"bold\": true}],"
  " \"atlas\": {\"layer\": \"sheets\", \"title_field\": \"ten\", \"margin\": 0.1}}";

/* ---- template: page, text, rendering ------------------------------------ */

static void
test_template_pdf (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autofree char *out = g_build_filename (f->dir, "planning.pdf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *nfc = NULL;
  g_autofree char *title_nfc = g_utf8_normalize (PLANNING_TITLE, -1, G_NORMALIZE_NFC);
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, NULL, NULL };
  double w, h;

  if (!have_poppler ())
    return;
  g_assert_cmpstr (title_nfc, ==, PLANNING_TITLE);
  layout = planning_template (f, "A3");
  dothi_layout_get_page_size (layout, &w, &h);
  g_assert_cmpfloat_with_epsilon (w, 420.0, 0.01);
  g_assert_cmpfloat_with_epsilon (h, 297.0, 0.01);
  g_assert_cmpint (dothi_print_count_pages (f->path, layout, &options, &error), ==, 1);
  g_assert_no_error (error);

  g_assert_true (dothi_print_sync (f->path, layout, &options, out, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  assert_pdf_page (out, A3_LONG_PT, A3_SHORT_PT, 1);

  text = pdf_text (out, 0, 0);
  nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
  /* The raw bytes are NFC already, and the title is there exactly. */
  g_assert_cmpstr (text, ==, nfc);
  assert_contains (nfc, PLANNING_TITLE);
  assert_contains (text, PLANNING_TITLE);
  assert_contains_any (text, scale_words, "the scale");
  assert_contains_any (text, legend_words, "the legend title");
  assert_pdf_renders (out, f->dir);

  /* Only the PDF is left in the folder. */
  {
    g_autofree char *listing = dir_listing (f->dir);
    g_assert_cmpstr (listing, ==, "planning.pdf");
  }
}

/* The other templates print too, on their own page sizes. */
static void
test_templates_all (Fixture *f, gconstpointer data)
{
  const char *names[] = { "planning", "cadastral", "handout" };

  if (!have_poppler ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiLayout) layout = dothi_layout_new_template (f->project, names[i], NULL, "Thử in", &error);
      g_autofree char *out = g_strdup_printf ("%s/%s.pdf", f->dir, names[i]);
      g_autofree char *text = NULL;
      PdfInfo info;
      double w, h;

      g_assert_no_error (error);
      g_assert_true (print_to (f->path, layout, DOTHI_PRINT_PDF, 0, NULL, NULL, out, &error));
      g_assert_no_error (error);
      dothi_layout_get_page_size (layout, &w, &h);
      info = pdf_info (out);
      g_assert_cmpint (info.pages, ==, 1);
      g_assert_cmpfloat_with_epsilon (info.width_pt, w * 72 / 25.4, 1.0);
      g_assert_cmpfloat_with_epsilon (info.height_pt, h * 72 / 25.4, 1.0);
      text = pdf_text (out, 0, 0);
      /* Title blocks may print it in capitals. */
      {
        const char *const title[] = { "Thử in", "THỬ IN", NULL };
        assert_contains_any (text, title, "the title");
      }
      assert_pdf_renders (out, f->dir);
    }
}

/* ---- scale -------------------------------------------------------------- */

typedef struct {
  guchar *data;
  int     width, height, stride;
} Image;

/* Darkness 0..255 of pixel (x, y) composited on white. */
static int
darkness (const Image *img, int x, int y)
{
  guint32 p = *(const guint32 *) (img->data + (gsize) y * img->stride + (gsize) x * 4);
  int a = p >> 24, r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
  /* Premultiplied: over white adds 255 - a to each channel. */
  int lum = ((r + 255 - a) * 299 + (g + 255 - a) * 587 + (b + 255 - a) * 114) / 1000;

  return 255 - CLAMP (lum, 0, 255);
}

#define DARK 16

/* On the rows of the middle sixth of [@top, @bottom) (pixels), the
 * centres of the dark runs between @left and @right: exactly two, their
 * mean distance in pixels. *@thickness gets the mean run width,
 * *@length the vertical extent of the first line. */
static double
measure_two_lines (const Image *img, int left, int right, int top, int bottom,
                   double *thickness, double *length)
{
  double sum_d = 0, sum_w = 0;
  int rows = 0, line_x = -1, y_min = G_MAXINT, y_max = -1;
  int band = (bottom - top) / 12;

  for (int y = (top + bottom) / 2 - band; y < (top + bottom) / 2 + band; y++)
    {
      double centre[3];
      int n = 0, width_sum = 0;

      for (int x = left; x < right; x++)
        {
          double w_sum = 0, wx = 0;
          int start = x;

          if (darkness (img, x, y) <= DARK)
            continue;
          while (x < right && darkness (img, x, y) > DARK)
            {
              int d = darkness (img, x, y);
              w_sum += d;
              wx += d * (x + 0.5);
              x++;
            }
          if (n < 3)
            centre[n] = wx / w_sum;
          n++;
          width_sum += x - start;
        }
      if (n != 2)
        g_test_message ("row %d: %d dark runs", y, n);
      g_assert_cmpint (n, ==, 2);
      sum_d += centre[1] - centre[0];
      sum_w += width_sum / 2.0;
      if (line_x < 0)
        line_x = (int) centre[0];
      rows++;
    }
  /* The first line's vertical extent, in its centre column. */
  for (int y = top; y < bottom; y++)
    if (darkness (img, line_x, y) > DARK)
      {
        y_min = MIN (y_min, y);
        y_max = MAX (y_max, y);
      }
  *thickness = sum_w / rows;
  *length = y_max - y_min + 1;
  return sum_d / rows;
}

/* @path as an ARGB32 surface (an opaque PNG loads as RGB24). */
static cairo_surface_t *
load_png (const char *path)
{
  cairo_surface_t *surface = cairo_image_surface_create_from_png (path);
  cairo_surface_t *argb;
  cairo_t *cr;

  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  if (cairo_image_surface_get_format (surface) == CAIRO_FORMAT_ARGB32)
    return surface;
  argb = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, cairo_image_surface_get_width (surface),
                                     cairo_image_surface_get_height (surface));
  cr = cairo_create (argb);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return argb;
}

static void
check_scale_image (cairo_surface_t *surface, double dpi, double scale, const char *what)
{
  Image img;
  double px_per_mm = dpi / 25.4;
  double expected_mm = 100.0 / scale * 1000.0;
  double thickness, length, apart, apart_mm, length_mm, thick_mm;

  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_flush (surface);
  img.data = cairo_image_surface_get_data (surface);
  img.width = cairo_image_surface_get_width (surface);
  img.height = cairo_image_surface_get_height (surface);
  img.stride = cairo_image_surface_get_stride (surface);
  g_assert_cmpint (cairo_image_surface_get_format (surface), ==, CAIRO_FORMAT_ARGB32);
  /* The frame is 10..287 × 10..200 mm: look 3 mm inside it. */
  apart = measure_two_lines (&img, (int) (13 * px_per_mm), (int) (284 * px_per_mm),
                             (int) (13 * px_per_mm), (int) (197 * px_per_mm), &thickness, &length);
  apart_mm = apart / px_per_mm;
  length_mm = length / px_per_mm;
  thick_mm = thickness / px_per_mm;
  g_test_message ("%s 1:%g: lines %.3f mm apart (expected %.3f), %.3f mm long, %.3f mm thick",
                  what, scale, apart_mm, expected_mm, length_mm, thick_mm);
  g_assert_cmpfloat_with_epsilon (apart_mm, expected_mm, 0.2);
  /* The length may gain the line's caps, at most its width. */
  g_assert_cmpfloat (length_mm, >=, expected_mm - 0.2);
  g_assert_cmpfloat (length_mm, <=, expected_mm + thick_mm + 0.2);
}

static void
check_scale (Fixture *f, double scale)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = scale_layout_json (scale);
  g_autoptr(DothiLayout) layout = layout_from_json (json);
  g_autofree char *png = g_strdup_printf ("%s/scale-%g.png", f->dir, scale);
  g_autofree char *pdf = g_strdup_printf ("%s/scale-%g.pdf", f->dir, scale);
  g_autofree char *prefix = g_strdup_printf ("%s/scale-%g-pdf", f->dir, scale);
  g_autofree char *pdf_png = g_strdup_printf ("%s.png", prefix);
  const double dpi = 254;   /* 10 px a millimetre */
  cairo_surface_t *surface;

  /* PNG straight from Dothi. */
  g_assert_true (print_to (f->small, layout, DOTHI_PRINT_PNG, dpi, NULL, NULL, png, &error));
  g_assert_no_error (error);
  surface = load_png (png);
  check_scale_image (surface, dpi, scale, "PNG");
  cairo_surface_destroy (surface);

  /* The PDF, rasterised by poppler. */
  g_assert_true (print_to (f->small, layout, DOTHI_PRINT_PDF, 0, NULL, NULL, pdf, &error));
  g_assert_no_error (error);
  assert_pdf_page (pdf, 297 * 72 / 25.4, A4_SHORT_PT, 1);
  {
    const char *argv[] = { "pdftoppm", "-r", "254", "-png", "-singlefile", pdf, prefix, NULL };
    g_autofree char *out = run_tool (argv, NULL);
  }
  surface = load_png (pdf_png);
  check_scale_image (surface, dpi, scale, "PDF");
  cairo_surface_destroy (surface);
}

static void
test_scale (Fixture *f, gconstpointer data)
{
  if (!have_poppler ())
    return;
  check_scale (f, 1000);
  check_scale (f, 2000);
}

/* ---- atlas -------------------------------------------------------------- */

static void
test_atlas (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = layout_from_json (sheets_atlas_json);
  g_autofree char *out = g_build_filename (f->dir, "atlas.pdf", NULL);
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, NULL, NULL };
  const char *names[] = { "Tờ A", "Tờ B", "Tờ C" };
  gboolean seen[3] = { FALSE, FALSE, FALSE };

  if (!have_poppler ())
    return;
  g_assert_cmpint (dothi_print_count_pages (f->small, layout, &options, &error), ==, 3);
  g_assert_no_error (error);
  g_assert_true (dothi_print_sync (f->small, layout, &options, out, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  assert_pdf_page (out, 297 * 72 / 25.4, A4_SHORT_PT, 3);
  assert_pdf_renders (out, f->dir);
  for (int page = 1; page <= 3; page++)
    {
      g_autofree char *text = pdf_text (out, page, page);
      g_autofree char *head = g_strdup_printf ("Trang %d/3", page);

      assert_contains (text, head);
      for (int i = 0; i < 3; i++)
        if (strstr (text, names[i]) != NULL)
          {
            g_assert_false (seen[i]);
            seen[i] = TRUE;
          }
    }
  g_assert_true (seen[0] && seen[1] && seen[2]);

  /* A condition on the atlas layer. */
  options.atlas_where = "ten <> 'Tờ B'";
  g_assert_cmpint (dothi_print_count_pages (f->small, layout, &options, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_true (dothi_print_sync (f->small, layout, &options, out, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  assert_pdf_page (out, 297 * 72 / 25.4, A4_SHORT_PT, 2);
  {
    g_autofree char *text = pdf_text (out, 0, 0);
    g_assert_null (strstr (text, "Tờ B"));
    assert_contains (text, "Trang 2/2");
  }
}

/* A template given an atlas layer: each page frames its own feature (a
 * 200 m sheet, not the whole project), and the title's {field} is the
 * feature's, in whatever case the title block prints it. */
static void
test_atlas_template (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) small = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autoptr(GRegex) scale_re = g_regex_new ("1:([0-9.]+)", 0, 0, NULL);
  g_autofree char *out = g_build_filename (f->dir, "handout-atlas.pdf", NULL);
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, "sheets", NULL };
  const char *const names[][3] = { { "Tờ A", "TỜ A", NULL }, { "Tờ B", "TỜ B", NULL }, { "Tờ C", "TỜ C", NULL } };

  if (!have_poppler ())
    return;
  small = dothi_project_open (f->small, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  layout = dothi_layout_new_template (small, "handout", "A4", "{ten}", &error);
  g_assert_no_error (error);
  dothi_project_close (small);
  g_assert_cmpint (dothi_print_count_pages (f->small, layout, &options, &error), ==, 3);
  g_assert_no_error (error);
  g_assert_true (dothi_print_sync (f->small, layout, &options, out, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pdf_info (out).pages, ==, 3);
  for (int page = 1; page <= 3; page++)
    {
      g_autofree char *text = pdf_text (out, page, page);
      g_autoptr(GMatchInfo) match = NULL;
      g_autofree char *digits = NULL;
      GString *plain = g_string_new (NULL);
      double scale;

      g_assert_true (g_regex_match (scale_re, text, 0, &match));
      digits = g_match_info_fetch (match, 1);
      for (const char *p = digits; *p; p++)
        if (*p != '.')
          g_string_append_c (plain, *p);
      scale = g_ascii_strtod (plain->str, NULL);
      g_string_free (plain, TRUE);
      g_test_message ("page %d: 1:%g", page, scale);
      /* A 200 × 150 m sheet on a map frame of some 200 mm: about 1:1000. */
      g_assert_cmpfloat (scale, <=, 2000);
      assert_contains_any (text, names[page - 1], "the sheet's name");
    }
}

/* The template with the demo's zoning as the atlas layer from the options. */
static void
test_atlas_zoning (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autofree char *out = g_build_filename (f->dir, "zoning.pdf", NULL);
  const char *where = "fid <= 4 OR ma_khu LIKE 'TM-00_'";
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, "zoning", where };
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM zoning WHERE %s", where);
  gint64 expected;

  if (!have_poppler ())
    return;
  expected = (gint64) sql_double (f, sql);
  g_assert_cmpint (expected, >=, 4);
  g_assert_cmpint (expected, <=, 20);
  layout = planning_template (f, "A4");
  g_assert_cmpint (dothi_print_count_pages (f->path, layout, &options, &error), ==, expected);
  g_assert_no_error (error);
  g_assert_true (dothi_print_sync (f->path, layout, &options, out, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pdf_info (out).pages, ==, expected);
  assert_pdf_renders (out, f->dir);
}

static void
assert_empty_atlas (Fixture *f, DothiLayout *layout, const char *layer, const char *where)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (f->dir, "empty.pdf", NULL);
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, layer, where };
  g_autofree char *listing = NULL;

  g_assert_cmpint (dothi_print_count_pages (f->small, layout, &options, &error), <=, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_test_message ("empty atlas: %s", error->message);
  assert_contains (error->message, layer);
  g_clear_error (&error);

  g_assert_false (dothi_print_sync (f->small, layout, &options, out, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, layer);
  listing = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, "");
}

static void
test_atlas_empty (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiLayout) layout = layout_from_json (sheets_atlas_json);

  assert_empty_atlas (f, layout, "sheets", "ten = 'không có'");
  if (small_has_empty_layer)
    assert_empty_atlas (f, layout, "empty_sheets", NULL);
  else
    g_test_message ("no empty layer to print an atlas of");
}

/* ---- bad input ---------------------------------------------------------- */

/* A layout that @json describes is refused, at parsing or at printing,
 * with INVALID_DATA; nothing appears in the output folder and the file
 * already at the output path is untouched. */
static void
assert_refused (Fixture *f, const char *project, const char *json, const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = dothi_layout_new_from_json (json, &error);
  g_autofree char *out = g_build_filename (f->dir, "keep.pdf", NULL);
  g_autofree char *listing = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (out, "old contents", -1, NULL));
  if (layout == NULL)
    {
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
      g_test_message ("%s: refused by the layout: %s", what, error->message);
      return;
    }
  g_assert_no_error (error);
  g_assert_false (print_to (project, layout, DOTHI_PRINT_PDF, 0, NULL, NULL, out, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_test_message ("%s: refused by the print: %s", what, error->message);
  listing = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, "keep.pdf");
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old contents");
}

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  char cx[G_ASCII_DTOSTR_BUF_SIZE], cy[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *no_layers = NULL;
  g_autofree char *unknown = NULL;
  g_autofree char *scale0 = NULL;
  g_autofree char *geomless = NULL;
  g_autoptr(DothiLayout) big = NULL;
  g_autofree char *out = g_build_filename (f->dir, "keep.pdf", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *listing = NULL;
  JsonObject *page;

  g_ascii_dtostr (cx, sizeof cx, SMALL_CX);
  g_ascii_dtostr (cy, sizeof cy, SMALL_CY);
#define MAP_ITEM(extra) \
  "{\"name\": \"bad\", \"page\": {\"size\": \"A4\", \"orientation\": \"landscape\"}," \
  " \"items\": [{\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10, \"w\": 277, \"h\": 190, " extra "}]}"
  no_layers = g_strdup_printf (MAP_ITEM ("\"scale\": 1000, \"center\": [%s, %s], \"layers\": []"), cx, cy);
  unknown = g_strdup_printf (MAP_ITEM ("\"scale\": 1000, \"center\": [%s, %s], \"layers\": [\"khong_co\"]"), cx, cy);
  scale0 = g_strdup_printf (MAP_ITEM ("\"scale\": 0, \"center\": [%s, %s], \"layers\": [\"scale_lines\"]"), cx, cy);
  /* dothi_layers is a table of the project but not a layer. */
  geomless = g_strdup_printf (MAP_ITEM ("\"scale\": 1000, \"center\": [%s, %s], \"layers\": [\"dothi_layers\"]"), cx, cy);
#undef MAP_ITEM

  assert_refused (f, f->small, no_layers, "no layers");
  assert_refused (f, f->small, unknown, "unknown layer");
  assert_refused (f, f->small, scale0, "scale 0 with a centre");
  assert_refused (f, f->small, geomless, "not a layer");

  /* A page over A0: the layout refuses it... */
  g_assert_null (dothi_layout_new_from_json ("{\"name\": \"big\", \"page\": {\"size\": \"custom\","
                                             " \"width\": 1300, \"height\": 800}, \"items\": []}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_null (dothi_layout_new_from_json ("{\"name\": \"big\", \"page\": {\"size\": \"A2\"},"
                                             " \"items\": [{\"type\": \"text\", \"x\": 0, \"y\": 0,"
                                             " \"w\": 0, \"h\": 10, \"text\": \"x\"}]}", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* ... and so does the print when the page grew after the check. */
  {
    g_autofree char *json = scale_layout_json (1000);
    big = layout_from_json (json);
  }
  page = json_object_get_object_member (dothi_layout_get_object (big), "page");
  json_object_set_string_member (page, "size", "custom");
  json_object_set_string_member (page, "orientation", "portrait");
  json_object_set_double_member (page, "width", 1300);
  json_object_set_double_member (page, "height", 800);
  g_assert_true (g_file_set_contents (out, "old contents", -1, NULL));
  g_assert_false (print_to (f->small, big, DOTHI_PRINT_PDF, 0, NULL, NULL, out, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_test_message ("page 1300 mm: %s", error->message);
  g_clear_error (&error);
  listing = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, "keep.pdf");
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old contents");
  g_clear_pointer (&contents, g_free);

  /* An unknown atlas layer and a condition that is not SQL. */
  {
    g_autoptr(DothiLayout) atlas = layout_from_json (sheets_atlas_json);
    g_autofree char *listing2 = NULL;

    g_assert_false (print_to (f->small, atlas, DOTHI_PRINT_PDF, 0, "khong_co", NULL, out, &error));
    g_assert_nonnull (error);
    assert_contains (error->message, "khong_co");
    g_clear_error (&error);
    g_assert_false (print_to (f->small, atlas, DOTHI_PRINT_PDF, 0, NULL, "ten = = 'x' )", out, &error));
    g_assert_nonnull (error);
    g_test_message ("bad condition: %s", error->message);
    g_clear_error (&error);
    listing2 = dir_listing (f->dir);
    g_assert_cmpstr (listing2, ==, "keep.pdf");
    g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, "old contents");
  }

  /* An output folder that does not exist: an error, no crash. */
  {
    g_autofree char *nowhere = g_build_filename (f->dir, "khong-co", "x.pdf", NULL);
    g_autoptr(DothiLayout) layout = layout_from_json (sheets_atlas_json);

    g_assert_false (print_to (f->small, layout, DOTHI_PRINT_PDF, 0, NULL, NULL, nowhere, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
}

typedef struct {
  GCancellable *cancellable;
  guint         calls;
  double        last;
  gboolean      backwards;
} ProgressData;

static void
cancel_on_progress (double fraction, const char *stage, gpointer user_data)
{
  ProgressData *p = user_data;

  if (fraction < p->last)
    p->backwards = TRUE;
  p->last = fraction;
  p->calls++;
  /* After the first page has been drawn, when there is a page to lose. */
  if (fraction > 0 || p->calls >= 2)
    g_cancellable_cancel (p->cancellable);
}

static void
record_progress (double fraction, const char *stage, gpointer user_data)
{
  ProgressData *p = user_data;

  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  if (fraction < p->last)
    p->backwards = TRUE;
  p->last = fraction;
  p->calls++;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = layout_from_json (sheets_atlas_json);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *out = g_build_filename (f->dir, "atlas.pdf", NULL);
  g_autofree char *listing = NULL;
  g_autofree char *contents = NULL;
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, NULL, NULL };
  ProgressData progress = { cancellable, 0, 0, FALSE };

  /* Progress of a whole print: some calls, never backwards. */
  g_assert_true (dothi_print_sync (f->small, layout, &options, out, NULL,
                                   record_progress, &progress, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (progress.calls, >=, 1);
  g_assert_false (progress.backwards);
  g_unlink (out);

  /* Cancelled: nothing written. */
  progress = (ProgressData) { cancellable, 0, 0, FALSE };
  g_assert_false (dothi_print_sync (f->small, layout, &options, out, cancellable,
                                    cancel_on_progress, &progress, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  listing = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, "");

  /* Cancelled over an existing file: it stays as it was. */
  g_cancellable_reset (cancellable);
  g_assert_true (g_file_set_contents (out, "old contents", -1, NULL));
  progress = (ProgressData) { cancellable, 0, 0, FALSE };
  g_assert_false (dothi_print_sync (f->small, layout, &options, out, cancellable,
                                    cancel_on_progress, &progress, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_pointer (&listing, g_free);
  listing = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, "atlas.pdf");
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old contents");
}

/* ---- parcel extract ----------------------------------------------------- */

/* Numbers in Vietnamese form with a decimal comma ("1.402.345,67",
 * "458123,4") in @line, as doubles. */
static GArray *
numbers_in (const char *line)
{
  g_autoptr(GRegex) re = g_regex_new ("(?<![\\d.,])\\d{1,3}(?:\\.\\d{3})*,\\d+|(?<![\\d.,])\\d+,\\d+",
                                      0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  GArray *values = g_array_new (FALSE, FALSE, sizeof (double));

  g_regex_match (re, line, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *word = g_match_info_fetch (match, 0);
      GString *plain = g_string_new (NULL);
      double v;

      for (const char *p = word; *p; p++)
        if (*p == ',')
          g_string_append_c (plain, '.');
        else if (*p != '.')
          g_string_append_c (plain, *p);
      v = g_ascii_strtod (plain->str, NULL);
      g_array_append_val (values, v);
      g_string_free (plain, TRUE);
      g_match_info_next (match, NULL);
    }
  return values;
}

/* @value in Vietnamese form with @decimals decimals: "1.234,5". */
static char *
vi_number (double value, int decimals)
{
  char format[16], plain[64];
  GString *out = g_string_new (NULL);
  const char *dot;
  int int_len, start;

  g_snprintf (format, sizeof format, "%%.%df", decimals);
  g_ascii_formatd (plain, sizeof plain, format, value);
  dot = strchr (plain, '.');
  int_len = dot ? (int) (dot - plain) : (int) strlen (plain);
  start = plain[0] == '-' ? 1 : 0;
  if (start)
    g_string_append_c (out, '-');
  for (int i = start; i < int_len; i++)
    {
      if (i > start && (int_len - i) % 3 == 0)
        g_string_append_c (out, '.');
      g_string_append_c (out, plain[i]);
    }
  if (dot != NULL)
    {
      g_string_append_c (out, ',');
      g_string_append (out, dot + 1);
    }
  return g_string_free (out, FALSE);
}

/* Prints the extract of parcel @fid of @layer in the project at @path
 * (open as @db) and checks it: one A4 portrait page, "TRÍCH LỤC", the
 * parcel's number, its area as SpatiaLite measures it (0.1 m², decimal
 * comma), and a row X = northing, Y = easting for every vertex. */
static void
check_extract (Fixture *f, sqlite3 *db, const char *path, const char *layer, gint64 fid,
               const char *const *also)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *out = g_build_filename (f->dir, "trich-luc.pdf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *area_text = NULL;
  g_autofree char *number = NULL;
  g_autofree char *sql = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GArray) xs = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ys = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GRegex) word = NULL;
  gint64 so_thua;
  double area;
  int n_vertices, rows = 0, found = 0;
  gint64 started;

  sql = g_strdup_printf ("SELECT so_thua, ST_Area(geom), "
                         "ST_NumPoints(ST_ExteriorRing(ST_GeometryN(geom, 1))) - 1 "
                         "FROM \"%s\" WHERE fid = ?1", layer);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, fid);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  so_thua = sqlite3_column_int64 (stmt, 0);
  area = sqlite3_column_double (stmt, 1);
  n_vertices = sqlite3_column_int (stmt, 2);
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_clear_pointer (&sql, g_free);
  g_assert_cmpint (n_vertices, >=, 3);
  sql = g_strdup_printf ("WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?2) "
                         "SELECT ST_X(ST_PointN(r, n)), ST_Y(ST_PointN(r, n)) FROM i, "
                         "(SELECT ST_ExteriorRing(ST_GeometryN(geom, 1)) AS r FROM \"%s\" WHERE fid = ?1)",
                         layer);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, fid);
  sqlite3_bind_int (stmt, 2, n_vertices);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      double x = sqlite3_column_double (stmt, 0), y = sqlite3_column_double (stmt, 1);
      g_array_append_val (xs, x);
      g_array_append_val (ys, y);
    }
  g_assert_cmpuint (xs->len, ==, n_vertices);

  started = g_get_monotonic_time ();
  g_assert_true (dothi_print_parcel_extract (path, layer, fid, out, DOTHI_PRINT_PDF, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s %" G_GINT64_FORMAT " (%d vertices): extract in %.0f ms", layer, fid, n_vertices,
                  (g_get_monotonic_time () - started) / 1000.0);
  assert_pdf_page (out, A4_SHORT_PT, A4_LONG_PT, 1);
  assert_pdf_renders (out, f->dir);

  text = pdf_text (out, 0, 0);
  {
    g_autofree char *nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
    g_assert_cmpstr (text, ==, nfc);
  }
  assert_contains (text, "TR\xc3\x8d" "CH L\xe1\xbb\xa4" "C");   /* TRÍCH LỤC */
  number = g_strdup_printf ("(?<!\\d)%" G_GINT64_FORMAT "(?!\\d)", so_thua);
  word = g_regex_new (number, 0, 0, NULL);
  g_assert_true (g_regex_match (word, text, 0, NULL));
  /* Area to 0.1 m² with a decimal comma, as SpatiaLite measures it. */
  area_text = vi_number (round (area * 10) / 10, 1);
  g_test_message ("area %.4f m² printed as %s", area, area_text);
  assert_contains (text, area_text);
  for (guint i = 0; also != NULL && also[i] != NULL; i++)
    assert_contains (text, also[i]);

  /* The vertex table: rows with X = northing, then Y = easting, and every
   * vertex of the parcel in one of them. */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GArray) v = numbers_in (lines[i]);
      for (guint k = 0; k + 1 < v->len; k++)
        {
          double north = g_array_index (v, double, k), east = g_array_index (v, double, k + 1);
          if (north > 1000000 && east > 100000 && east < 1000000)
            {
              rows++;
              for (guint j = 0; j < xs->len; j++)
                if (fabs (north - g_array_index (ys, double, j)) < 0.011
                    && fabs (east - g_array_index (xs, double, j)) < 0.011)
                  {
                    found++;
                    break;
                  }
              break;
            }
        }
    }
  g_test_message ("%d coordinate rows, %d of them vertices of the parcel", rows, found);
  g_assert_cmpint (rows, >=, n_vertices);
  g_assert_cmpint (found, >=, n_vertices);
  g_unlink (out);
}

static void
test_parcel_extract (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) small = NULL;
  g_autofree char *out = g_build_filename (f->dir, "trich-luc.pdf", NULL);
  const char *const owner[] = { "Nguyễn Thị Ánh Tuyết", "1.386,1", "10,53", NULL };
  gint64 fid;

  if (!have_poppler ())
    return;
  /* A parcel of the demo city (all are quadrilaterals)... */
  fid = (gint64) sql_double (f, "SELECT fid FROM parcels WHERE so_thua IS NOT NULL "
                                "ORDER BY abs(fid - 1000) LIMIT 1");
  check_extract (f, project_db (f), f->path, "parcels", fid, NULL);

  /* ... and a concave heptagon over 1 000 m²: grouping dot, edge lengths. */
  small = dothi_project_open (f->small, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  check_extract (f, dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (dothi_project_get_store (small))),
                 f->small, "thua_dat", 1, owner);
  dothi_project_close (small);

  /* A parcel that does not exist: an error naming it, nothing written. */
  g_assert_false (dothi_print_parcel_extract (f->path, "parcels", 99999999, out, DOTHI_PRINT_PDF, NULL, &error));
  g_assert_nonnull (error);
  assert_contains (error->message, "99999999");
  g_clear_error (&error);
  g_assert_false (dothi_print_parcel_extract (f->path, "khong_co", fid, out, DOTHI_PRINT_PDF, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  {
    g_autofree char *listing = dir_listing (f->dir);
    g_assert_cmpstr (listing, ==, "");
  }
}

/* ---- SVG, PNG, preview -------------------------------------------------- */

static void
svg_start (GMarkupParseContext *context, const char *element, const char **names,
           const char **values, gpointer user_data, GError **error)
{
  double *size = user_data;

  if (strcmp (element, "svg") != 0 || size[2] != 0)
    return;
  size[2] = 1;
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], "width") == 0)
      size[0] = g_ascii_strtod (values[i], NULL);
    else if (strcmp (names[i], "height") == 0)
      size[1] = g_ascii_strtod (values[i], NULL);
}

static void
test_svg_png (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = planning_template (f, "A3");
  g_autofree char *svg = g_build_filename (f->dir, "planning.svg", NULL);
  g_autofree char *png = g_build_filename (f->dir, "planning.png", NULL);
  g_autofree char *contents = NULL;
  gsize length;
  GMarkupParser parser = { svg_start, NULL, NULL, NULL, NULL };
  g_autoptr(GMarkupParseContext) context = NULL;
  double size[3] = { 0, 0, 0 };
  cairo_surface_t *surface;
  DothiPrintFormat format;
  const double dpi = 100;

  g_assert_true (dothi_print_format_for (NULL, "a.svg", &format));
  g_assert_cmpint (format, ==, DOTHI_PRINT_SVG);
  g_assert_true (dothi_print_format_for (NULL, "A.PNG", &format));
  g_assert_cmpint (format, ==, DOTHI_PRINT_PNG);
  g_assert_true (dothi_print_format_for ("pdf", "a.png", &format));
  g_assert_cmpint (format, ==, DOTHI_PRINT_PDF);
  g_assert_false (dothi_print_format_for (NULL, "a.docx", &format));

  g_assert_true (print_to (f->path, layout, DOTHI_PRINT_SVG, 0, NULL, NULL, svg, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (svg, &contents, &length, NULL));
  g_assert_true (g_str_has_prefix (contents, "<?xml"));
  g_assert_nonnull (strstr (contents, "<svg"));
  context = g_markup_parse_context_new (&parser, 0, size, NULL);
  g_assert_true (g_markup_parse_context_parse (context, contents, (gssize) length, &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  /* cairo writes the size in points. */
  g_assert_cmpfloat_with_epsilon (size[0], A3_LONG_PT, 1.0);
  g_assert_cmpfloat_with_epsilon (size[1], A3_SHORT_PT, 1.0);

  g_assert_true (print_to (f->path, layout, DOTHI_PRINT_PNG, dpi, NULL, NULL, png, &error));
  g_assert_no_error (error);
  surface = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpfloat_with_epsilon (cairo_image_surface_get_width (surface), 420 * dpi / 25.4, 1.0);
  g_assert_cmpfloat_with_epsilon (cairo_image_surface_get_height (surface), 297 * dpi / 25.4, 1.0);
  cairo_surface_destroy (surface);
}

static void
test_preview (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiLayout) layout = planning_template (f, "A3");
  g_autoptr(DothiPrinter) printer = dothi_printer_new (f->path, &error);
  DothiPrintOptions options = { DOTHI_PRINT_PDF, 0, NULL, NULL };
  JsonObject *map = dothi_layout_find_item (layout, "map");
  const double dpi = 40, px_per_mm = dpi / 25.4;
  double w, h, mx, my, mw, mh;
  cairo_surface_t *surface;
  cairo_t *cr;
  Image img;
  gint64 inked = 0, total = 0;

  g_assert_no_error (error);
  g_assert_nonnull (printer);
  g_assert_nonnull (map);
  mx = json_object_get_double_member (map, "x");
  my = json_object_get_double_member (map, "y");
  mw = json_object_get_double_member (map, "w");
  mh = json_object_get_double_member (map, "h");
  dothi_layout_get_page_size (layout, &w, &h);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (w * px_per_mm), (int) ceil (h * px_per_mm));
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_scale (cr, px_per_mm, px_per_mm);
  g_assert_true (dothi_printer_draw_page (printer, layout, &options, 0, cr, dpi, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);

  img.data = cairo_image_surface_get_data (surface);
  img.width = cairo_image_surface_get_width (surface);
  img.height = cairo_image_surface_get_height (surface);
  img.stride = cairo_image_surface_get_stride (surface);
  /* Inside the frame, 2 mm in from its edge. */
  for (int y = (int) ((my + 2) * px_per_mm); y < (int) ((my + mh - 2) * px_per_mm) && y < img.height; y++)
    for (int x = (int) ((mx + 2) * px_per_mm); x < (int) ((mx + mw - 2) * px_per_mm) && x < img.width; x++)
      {
        total++;
        if (darkness (&img, x, y) > 8)
          inked++;
      }
  g_test_message ("preview: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " pixels of the frame inked",
                  inked, total);
  g_assert_cmpint (total, >, 1000);
  g_assert_cmpint (inked, >, total / 10);
  cairo_surface_destroy (surface);

  /* Twice with the same printer: same result, no error. */
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 100, 100);
  cr = cairo_create (surface);
  cairo_scale (cr, 100 / w, 100 / w);
  g_assert_true (dothi_printer_draw_page (printer, layout, &options, 0, cr, 10, NULL, &error));
  g_assert_no_error (error);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* ---- offline basemap ------------------------------------------------------ */

/* An MBTiles basemap in Web Mercator, one colour, over the small project. */
static char *
make_mbtiles (const char *dir, double cx, double cy)
{
  OGRSpatialReferenceH vn = OSRNewSpatialReference (NULL);
  OGRSpatialReferenceH merc = OSRNewSpatialReference (NULL);
  OGRCoordinateTransformationH ct;
  GDALDatasetH mem, out;
  double xs[2] = { cx - 1500, cx + 1500 }, ys[2] = { cy - 1500, cy + 1500 };
  double gt[6];
  char *wkt = NULL;
  char *path = g_build_filename (dir, "basemap.mbtiles", NULL);
  guint8 *band = g_malloc (256 * 256);
  const guint8 colour[3] = { 10, 200, 30 };

  OSRImportFromEPSG (vn, 9218);
  OSRImportFromEPSG (merc, 3857);
  OSRSetAxisMappingStrategy (vn, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy (merc, OAMS_TRADITIONAL_GIS_ORDER);
  ct = OCTNewCoordinateTransformation (vn, merc);
  g_assert_true (OCTTransform (ct, 2, xs, ys, NULL));
  mem = GDALCreate (GDALGetDriverByName ("MEM"), "", 256, 256, 3, GDT_Byte, NULL);
  gt[0] = xs[0]; gt[1] = (xs[1] - xs[0]) / 256; gt[2] = 0;
  gt[3] = ys[1]; gt[4] = 0; gt[5] = -(ys[1] - ys[0]) / 256;
  GDALSetGeoTransform (mem, gt);
  OSRExportToWkt (merc, &wkt);
  GDALSetProjection (mem, wkt);
  for (int b = 0; b < 3; b++)
    {
      memset (band, colour[b], 256 * 256);
      g_assert_cmpint (GDALRasterIO (GDALGetRasterBand (mem, b + 1), GF_Write, 0, 0, 256, 256,
                                     band, 256, 256, GDT_Byte, 0, 0), ==, CE_None);
    }
  out = GDALCreateCopy (GDALGetDriverByName ("MBTiles"), path, mem, FALSE, NULL, NULL, NULL);
  g_assert_nonnull (out);
  GDALClose (out);
  GDALClose (mem);
  CPLFree (wkt);
  g_free (band);
  OCTDestroyCoordinateTransformation (ct);
  OSRDestroySpatialReference (vn);
  OSRDestroySpatialReference (merc);
  return path;
}

static void
test_basemap (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mbtiles = make_mbtiles (f->dir, SMALL_CX, SMALL_CY);
  g_autofree char *png = g_build_filename (f->dir, "basemap.png", NULL);
  g_autofree char *pdf = g_build_filename (f->dir, "online.pdf", NULL);
  char cx[G_ASCII_DTOSTR_BUF_SIZE], cy[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *json = NULL;
  g_autofree char *online = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  g_autoptr(DothiLayout) bad = NULL;
  cairo_surface_t *image;
  guint32 pixel, outside;
  int stride;

  json = g_strdup_printf ("{\"name\": \"nền\", \"page\": {\"size\": \"A4\", \"orientation\": \"landscape\"},"
                          " \"items\": [{\"type\": \"map\", \"id\": \"map\", \"x\": 10, \"y\": 10,"
                          " \"w\": 277, \"h\": 190, \"scale\": 2000, \"center\": [%s, %s],"
                          " \"layers\": [\"scale_lines\"], \"grid\": 0, \"basemap\": \"%s\"}]}",
                          g_ascii_dtostr (cx, sizeof cx, SMALL_CX),
                          g_ascii_dtostr (cy, sizeof cy, SMALL_CY), mbtiles);
  layout = layout_from_json (json);
  g_assert_true (print_to (f->small, layout, DOTHI_PRINT_PNG, 50, NULL, NULL, png, &error));
  g_assert_no_error (error);

  /* Inside the frame, away from the lines: the basemap's green; the
   * margin outside the frame stays white paper. */
  image = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  stride = cairo_image_surface_get_stride (image);
  pixel = *(guint32 *) (cairo_image_surface_get_data (image) + (gsize) 40 * stride + 40 * 4);
  outside = *(guint32 *) (cairo_image_surface_get_data (image) + (gsize) 5 * stride + 5 * 4);
  g_assert_cmpint ((pixel >> 16) & 0xff, <, 40);
  g_assert_cmpint ((pixel >> 8) & 0xff, >, 170);
  g_assert_cmpint (outside & 0xffffff, ==, 0xffffff);
  cairo_surface_destroy (image);

  /* Online tiles are never printed. */
  online = g_strdup_printf ("{\"name\": \"online\", \"page\": {\"size\": \"A4\"},"
                            " \"items\": [{\"type\": \"map\", \"x\": 10, \"y\": 10, \"w\": 190,"
                            " \"h\": 270, \"layers\": [\"scale_lines\"],"
                            " \"basemap\": \"https://tile.example.org/{z}/{x}/{y}.png\"}]}");
  bad = layout_from_json (online);
  g_assert_false (print_to (f->small, bad, DOTHI_PRINT_PDF, 0, NULL, NULL, pdf, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "online"));
  g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  int status;

  dothi_test_init (&argc, &argv);
  shared_dir = dothi_test_mkdtemp ();

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/print/template-pdf", test_template_pdf);
  ADD ("/print/templates-all", test_templates_all);
  ADD ("/print/scale", test_scale);
  ADD ("/print/atlas", test_atlas);
  ADD ("/print/atlas-zoning", test_atlas_zoning);
  ADD ("/print/atlas-empty", test_atlas_empty);
  ADD ("/print/bad-input", test_bad_input);
  ADD ("/print/cancel", test_cancel);
  ADD ("/print/parcel-extract", test_parcel_extract);
  ADD ("/print/svg-png", test_svg_png);
  ADD ("/print/preview", test_preview);
  ADD ("/print/atlas-template", test_atlas_template);
  ADD ("/print/basemap", test_basemap);
#undef ADD

  status = g_test_run ();
  dothi_test_rmdir (shared_dir);
  g_free (shared_dir);
  g_free (demo_project);
  g_free (small_project);
  return status;
}
