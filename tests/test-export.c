/* test-export.c: project layers written to GeoPackage, GeoJSON, CSV,
 * Shapefile, DXF and DGN v7 and read back with GDAL (counts, CRS,
 * coordinates, Vietnamese text), the refusals, and the validity check. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-check.h"
#include "dothi-error.h"
#include "dothi-export.h"
#include "dothi-import.h"
#include "dothi-project.h"
#include "test-util.h"

#include <cpl_error.h>
#include <gdal.h>
#include <glib/gstdio.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <string.h>

#define GML "vilis-cadastral-bmt/Thua_Dat.gml"
#define THUYDIEN "legocity-vn/thuydien.geojson"
#define HERITAGE "legocity-vn/heritage.geojson"

#define UBND "Uỷ ban nhân dân Phường Tân Lập"
/* NFC, though the source file has a combining dot below (U+0323). */
#define DA_TONG "\xc4\x90\xe1\xba\xa1 T\xc3\xb4ng"

typedef struct {
  char         *dir;
  char         *project_path;
  DothiProject *project;
} Fixture;

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static void
import_file (DothiProject *project, const char *path)
{
  g_autoptr(DothiImport) import = dothi_import_new (project, path);
  g_autoptr(GError) error = NULL;

  g_assert_true (dothi_import_run_sync (import, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* A project with the ViLIS parcels (thua_dat, 129) and the hydropower
 * plants (thuydien, 197); FALSE after g_test_skip() without the data. */
static gboolean
fixture_open (Fixture *f, gboolean with_thuydien)
{
  g_autofree char *gml = dothi_test_shared_path (GML);
  g_autofree char *thuydien = NULL;
  g_autoptr(GError) error = NULL;

  if (gml == NULL)
    return FALSE;
  if (with_thuydien && (thuydien = dothi_test_shared_path (THUYDIEN)) == NULL)
    return FALSE;

  f->dir = dothi_test_mkdtemp ();
  f->project_path = g_build_filename (f->dir, "tan-lap.dothi", NULL);
  f->project = dothi_project_create (f->project_path, NULL, &error);
  g_assert_no_error (error);
  import_file (f->project, gml);
  if (with_thuydien)
    import_file (f->project, thuydien);
  return TRUE;
}

static void
fixture_close (Fixture *f)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->project_path);
}

static char *
out_path (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
export_ok (Fixture *f, const char *layer, const char *path, const char *format)
{
  const char *layers[] = { layer, NULL };
  g_autoptr(GError) error = NULL;

  gboolean ok;

  ok = dothi_export_sync (f->project, layer ? layers : NULL, path, format, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
}

/* ---- what a layer holds ------------------------------------------------ */

typedef struct {
  gint64 features;   /* with or without geometry */
  gint64 parts;      /* points, lines or polygons, multi geometries exploded */
  double extent[4];
} Stats;

static void
stats_init (Stats *s)
{
  s->features = 0;
  s->parts = 0;
  s->extent[0] = s->extent[1] = G_MAXDOUBLE;
  s->extent[2] = s->extent[3] = -G_MAXDOUBLE;
}

static void
stats_add (Stats *s, OGRGeometryH geom)
{
  OGREnvelope env;

  s->features++;
  if (geom == NULL || OGR_G_IsEmpty (geom))
    return;
  if (OGR_GT_IsSubClassOf (wkbFlatten (OGR_G_GetGeometryType (geom)), wkbGeometryCollection))
    s->parts += OGR_G_GetGeometryCount (geom);
  else
    s->parts++;
  OGR_G_GetEnvelope (geom, &env);
  s->extent[0] = MIN (s->extent[0], env.MinX);
  s->extent[1] = MIN (s->extent[1], env.MinY);
  s->extent[2] = MAX (s->extent[2], env.MaxX);
  s->extent[3] = MAX (s->extent[3], env.MaxY);
}

static gboolean
stats_feature_cb (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
                  gpointer user_data, GError **error)
{
  g_auto(OGRGeometryH) geom = NULL;

  if (wkb != NULL)
    g_assert_cmpint (OGR_G_CreateFromWkbEx (wkb, NULL, &geom, wkb_len), ==, OGRERR_NONE);
  stats_add (user_data, geom);
  return TRUE;
}

static void
project_stats (DothiProject *project, const char *layer, Stats *s)
{
  g_autoptr(GError) error = NULL;

  stats_init (s);
  g_assert_true (dothi_store_read_features (dothi_project_get_store (project), layer, NULL,
                                            stats_feature_cb, s, NULL, &error));
  g_assert_no_error (error);
}

/* From the features themselves, not the header's extent. */
static void
layer_stats (OGRLayerH layer, Stats *s)
{
  OGRFeatureH feat;

  stats_init (s);
  OGR_L_ResetReading (layer);
  while ((feat = OGR_L_GetNextFeature (layer)) != NULL)
    {
      stats_add (s, OGR_F_GetGeometryRef (feat));
      OGR_F_Destroy (feat);
    }
}

static void
assert_same_place (const Stats *got, const Stats *want)
{
  for (int i = 0; i < 4; i++)
    {
      if (ABS (got->extent[i] - want->extent[i]) > 0.01)
        g_test_message ("extent[%d]: %.3f written as %.3f", i, want->extent[i], got->extent[i]);
      g_assert_cmpfloat_with_epsilon (got->extent[i], want->extent[i], 0.01);
    }
}

static GDALDatasetH
open_output (const char *path, const char *driver)
{
  const char *drivers[] = { driver, NULL };
  GDALDatasetH ds = GDALOpenEx (path, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, NULL, NULL);

  if (ds == NULL)
    g_test_message ("GDAL cannot open %s: %s", path, CPLGetLastErrorMsg ());
  g_assert_nonnull (ds);
  g_assert_cmpstr (GDALGetDriverShortName (GDALGetDatasetDriver (ds)), ==, driver);
  return ds;
}

static OGRLayerH
only_layer (GDALDatasetH ds)
{
  g_assert_cmpint (GDALDatasetGetLayerCount (ds), ==, 1);
  return GDALDatasetGetLayer (ds, 0);
}

static void
assert_epsg (OGRLayerH layer, int srid)
{
  OGRSpatialReferenceH srs = OGR_L_GetSpatialRef (layer);
  g_autofree char *want = g_strdup_printf ("%d", srid);
  const char *code;

  g_assert_nonnull (srs);
  code = OSRGetAuthorityCode (srs, NULL);
  if (code == NULL && OSRAutoIdentifyEPSG (srs) == OGRERR_NONE)
    code = OSRGetAuthorityCode (srs, NULL);
  g_assert_cmpstr (code, ==, want);
  g_assert_cmpstr (OSRGetAuthorityName (srs, NULL), ==, "EPSG");
}

/* Number of features whose @field is @value, and the value of @other in
 * the first of them (owned by the caller). */
static gint64
count_where (OGRLayerH layer, const char *field, const char *value, const char *other, char **other_value)
{
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int idx = OGR_FD_GetFieldIndex (defn, field);
  int other_idx = other ? OGR_FD_GetFieldIndex (defn, other) : -1;
  OGRFeatureH feat;
  gint64 n = 0;

  if (idx < 0)
    g_test_message ("no field “%s”", field);
  g_assert_cmpint (idx, >=, 0);
  if (other != NULL)
    g_assert_cmpint (other_idx, >=, 0);
  OGR_L_ResetReading (layer);
  while ((feat = OGR_L_GetNextFeature (layer)) != NULL)
    {
      if (g_strcmp0 (OGR_F_GetFieldAsString (feat, idx), value) == 0)
        {
          if (n == 0 && other_value != NULL)
            *other_value = g_strdup (OGR_F_GetFieldAsString (feat, other_idx));
          n++;
        }
      OGR_F_Destroy (feat);
    }
  return n;
}

/* The ViLIS parcels as any attribute format holds them. */
static void
assert_parcels (OGRLayerH layer, DothiProject *project, const char *owner_field, const char *address_field)
{
  Stats want, got;
  g_autofree char *address = NULL;

  project_stats (project, "thua_dat", &want);
  g_assert_cmpint (want.features, ==, 129);
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==, 129);
  layer_stats (layer, &got);
  g_assert_cmpint (got.features, ==, 129);
  g_assert_cmpint (got.parts, ==, want.parts);
  assert_same_place (&got, &want);
  g_assert_cmpint (count_where (layer, owner_field, UBND, address_field, &address), ==, 6);
  g_assert_cmpstr (address, ==, "Phường Tân Lập, tỉnh Đắk Lắk");
}

static void
assert_thuydien (OGRLayerH layer, DothiProject *project)
{
  Stats want, got;
  g_autofree char *commune = NULL;
  g_autofree char *status = NULL;

  project_stats (project, "thuydien", &want);
  g_assert_cmpint (want.features, ==, 197);
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==, 197);
  layer_stats (layer, &got);
  g_assert_cmpint (got.features, ==, 197);
  g_assert_cmpint (got.parts, ==, want.parts);
  assert_same_place (&got, &want);
  g_assert_cmpint (count_where (layer, "Name", "Krông Nô 3", "Xa_Phuong", &commune), ==, 1);
  g_assert_cmpstr (commune, ==, DA_TONG);
  g_assert_cmpint (count_where (layer, "Name", "Hoa Thám", "Status", &status), ==, 1);
  g_assert_cmpstr (status, ==, "Đang xây dựng");
}

/* ---- formats ----------------------------------------------------------- */

static void
test_gpkg (void)
{
  Fixture f = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *sum_after = NULL;
  g_autoptr(GError) error = NULL;
  GDALDatasetH ds;
  OGRLayerH layer;

  if (!fixture_open (&f, TRUE))
    return;
  sum = dothi_project_layer_checksum (f.project, "thua_dat", &error);
  g_assert_no_error (error);
  path = out_path (&f, "xuat.gpkg");
  export_ok (&f, NULL, path, "gpkg");

  ds = open_output (path, "GPKG");
  g_assert_cmpint (GDALDatasetGetLayerCount (ds), ==, 2);
  layer = GDALDatasetGetLayerByName (ds, "thua_dat");
  g_assert_nonnull (layer);
  assert_epsg (layer, 9218);
  g_assert_cmpint (wkbFlatten (OGR_L_GetGeomType (layer)), ==, wkbMultiPolygon);
  assert_parcels (layer, f.project, "tenChu", "diaChi");
  /* Code-like fields stay text. */
  {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
    int idx = OGR_FD_GetFieldIndex (defn, "maXa");
    g_assert_cmpint (idx, >=, 0);
    g_assert_cmpint (OGR_Fld_GetType (OGR_FD_GetFieldDefn (defn, idx)), ==, OFTString);
  }
  layer = GDALDatasetGetLayerByName (ds, "thuydien");
  g_assert_nonnull (layer);
  assert_epsg (layer, 9218);
  g_assert_cmpint (wkbFlatten (OGR_L_GetGeomType (layer)), ==, wkbMultiPoint);
  assert_thuydien (layer, f.project);
  GDALClose (ds);

  /* Exporting does not touch the project. */
  sum_after = dothi_project_layer_checksum (f.project, "thua_dat", &error);
  g_assert_cmpstr (sum, ==, sum_after);
  fixture_close (&f);
}

static void
test_geojson (void)
{
  Fixture f = { 0 };
  g_autofree char *parcels = NULL;
  g_autofree char *plants = NULL;
  GDALDatasetH ds;

  if (!fixture_open (&f, TRUE))
    return;
  parcels = out_path (&f, "thua_dat.geojson");
  plants = out_path (&f, "thuy-dien.json");
  export_ok (&f, "thua_dat", parcels, NULL);
  export_ok (&f, "thuydien", plants, "GeoJSON");

  ds = open_output (parcels, "GeoJSON");
  assert_epsg (only_layer (ds), 9218);
  assert_parcels (only_layer (ds), f.project, "tenChu", "diaChi");
  GDALClose (ds);
  ds = open_output (plants, "GeoJSON");
  assert_epsg (only_layer (ds), 9218);
  assert_thuydien (only_layer (ds), f.project);
  GDALClose (ds);
  fixture_close (&f);
}

static void
test_csv (void)
{
  Fixture f = { 0 };
  g_autofree char *parcels = NULL;
  g_autofree char *plants = NULL;
  GDALDatasetH ds;

  if (!fixture_open (&f, TRUE))
    return;
  parcels = out_path (&f, "thua_dat.csv");
  plants = out_path (&f, "thuydien.csv");
  export_ok (&f, "thua_dat", parcels, "csv");
  export_ok (&f, "thuydien", plants, NULL);

  ds = open_output (parcels, "CSV");
  assert_parcels (only_layer (ds), f.project, "tenChu", "diaChi");
  GDALClose (ds);
  ds = open_output (plants, "CSV");
  assert_thuydien (only_layer (ds), f.project);
  GDALClose (ds);
  fixture_close (&f);
}

static void
assert_cpg (const char *shp)
{
  g_autofree char *base = g_strndup (shp, strlen (shp) - 4);
  g_autofree char *cpg = g_strconcat (base, ".cpg", NULL);
  g_autofree char *prj = g_strconcat (base, ".prj", NULL);
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (cpg, &contents, NULL, NULL));
  g_strstrip (contents);
  g_assert_cmpstr (contents, ==, "UTF-8");
  g_assert_true (g_file_test (prj, G_FILE_TEST_IS_REGULAR));
}

static void
test_shapefile (void)
{
  Fixture f = { 0 };
  g_autofree char *parcels = NULL;
  g_autofree char *plants = NULL;
  GDALDatasetH ds;

  if (!fixture_open (&f, TRUE))
    return;
  parcels = out_path (&f, "thua_dat.shp");
  plants = out_path (&f, "thuydien.shp");
  export_ok (&f, "thua_dat", parcels, NULL);
  export_ok (&f, "thuydien", plants, "shp");
  assert_cpg (parcels);
  assert_cpg (plants);

  ds = open_output (parcels, "ESRI Shapefile");
  assert_epsg (only_layer (ds), 9218);
  assert_parcels (only_layer (ds), f.project, "tenChu", "diaChi");
  GDALClose (ds);
  ds = open_output (plants, "ESRI Shapefile");
  assert_epsg (only_layer (ds), 9218);
  assert_thuydien (only_layer (ds), f.project);
  GDALClose (ds);
  fixture_close (&f);
}

/* CAD formats keep geometry only: every point, line and polygon, in place. */
static void
assert_cad (const char *path, const char *driver, DothiProject *project, const char *layer_name)
{
  GDALDatasetH ds = open_output (path, driver);
  Stats want, got;

  project_stats (project, layer_name, &want);
  layer_stats (only_layer (ds), &got);
  g_test_message ("%s: %" G_GINT64_FORMAT " features, %" G_GINT64_FORMAT " parts; written %"
                  G_GINT64_FORMAT " features, %" G_GINT64_FORMAT " parts",
                  layer_name, want.features, want.parts, got.features, got.parts);
  g_assert_cmpint (got.parts, ==, want.parts);
  assert_same_place (&got, &want);
  GDALClose (ds);
}

static void
test_dxf (void)
{
  Fixture f = { 0 };
  g_autofree char *parcels = NULL;
  g_autofree char *plants = NULL;

  if (!fixture_open (&f, TRUE))
    return;
  parcels = out_path (&f, "thua_dat.dxf");
  plants = out_path (&f, "thuydien.dxf");
  export_ok (&f, "thua_dat", parcels, NULL);
  assert_cad (parcels, "DXF", f.project, "thua_dat");
  export_ok (&f, "thuydien", plants, "dxf");
  assert_cad (plants, "DXF", f.project, "thuydien");
  fixture_close (&f);
}

static void
test_dgn (void)
{
  Fixture f = { 0 };
  g_autofree char *parcels = NULL;
  g_autofree char *plants = NULL;
  g_autofree char *head = NULL;
  gsize len = 0;

  if (!fixture_open (&f, TRUE))
    return;
  parcels = out_path (&f, "thua_dat.dgn");
  plants = out_path (&f, "thuydien.dgn");
  export_ok (&f, "thua_dat", parcels, NULL);
  /* A DGN v7 (ISFF) file starts with its 2D TCB element, not an OLE2
   * container as v8 does. */
  g_assert_true (g_file_get_contents (parcels, &head, &len, NULL));
  g_assert_cmpuint (len, >, 4);
  g_assert_cmphex ((guint8) head[0], ==, 0x08);
  g_assert_cmphex ((guint8) head[1], ==, 0x09);
  assert_cad (parcels, "DGN", f.project, "thua_dat");
  export_ok (&f, "thuydien", plants, "dgn");
  assert_cad (plants, "DGN", f.project, "thuydien");
  fixture_close (&f);
}

/* ---- refusals ---------------------------------------------------------- */

static void
test_existing_output (void)
{
  Fixture f = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  const char *layers[] = { "thua_dat", NULL };

  if (!fixture_open (&f, FALSE))
    return;
  path = out_path (&f, "ban-do.geojson");
  g_assert_true (g_file_set_contents (path, "{}", -1, NULL));
  g_assert_false (dothi_export_sync (f.project, layers, path, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  assert_contains (error->message, path);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "{}");
  fixture_close (&f);
}

static void
test_several_layers_one_file (void)
{
  const char *formats[] = { "geojson", "csv", "shp", "dxf", "dgn", NULL };
  Fixture f = { 0 };

  if (!fixture_open (&f, TRUE))
    return;
  for (guint i = 0; formats[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("hai-lop.%s", formats[i]);
      g_autofree char *path = out_path (&f, name);
      const char *both[] = { "thua_dat", "thuydien", NULL };
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", formats[i]);
      g_assert_false (dothi_export_sync (f.project, NULL, path, NULL, NULL, NULL, NULL, &error));
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      g_clear_error (&error);
      g_assert_false (dothi_export_sync (f.project, both, path, formats[i], NULL, NULL, NULL, &error));
      g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }
  fixture_close (&f);
}

static void
test_unknown_format (void)
{
  Fixture f = { 0 };
  g_autofree char *kml = NULL;
  g_autofree char *noext = NULL;
  g_autoptr(GError) error = NULL;
  const char *layers[] = { "thua_dat", NULL };

  if (!fixture_open (&f, FALSE))
    return;
  kml = out_path (&f, "thua_dat.kml");
  g_assert_false (dothi_export_sync (f.project, layers, kml, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  assert_contains (error->message, kml);
  g_assert_false (g_file_test (kml, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  noext = out_path (&f, "thua_dat");
  g_assert_false (dothi_export_sync (f.project, layers, noext, "mapinfo", NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  assert_contains (error->message, "mapinfo");
  g_assert_false (g_file_test (noext, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_false (dothi_export_sync (f.project, layers, noext, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  fixture_close (&f);
}

static void
test_unknown_layer (void)
{
  Fixture f = { 0 };
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  const char *layers[] = { "khong_co", NULL };

  if (!fixture_open (&f, FALSE))
    return;
  path = out_path (&f, "x.gpkg");
  g_assert_false (dothi_export_sync (f.project, layers, path, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "khong_co");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  fixture_close (&f);
}

static void
test_driver_for (void)
{
  g_assert_cmpstr (dothi_export_driver_for ("gpkg", NULL), ==, "GPKG");
  g_assert_cmpstr (dothi_export_driver_for ("GeoJSON", NULL), ==, "GeoJSON");
  g_assert_cmpstr (dothi_export_driver_for ("SHP", NULL), ==, "ESRI Shapefile");
  g_assert_cmpstr (dothi_export_driver_for ("dgn", "x.gpkg"), ==, "DGN");
  g_assert_cmpstr (dothi_export_driver_for (NULL, "/a/b/ban-do.GPKG"), ==, "GPKG");
  g_assert_cmpstr (dothi_export_driver_for (NULL, "thua_dat.shp"), ==, "ESRI Shapefile");
  g_assert_cmpstr (dothi_export_driver_for (NULL, "thua_dat.csv"), ==, "CSV");
  g_assert_cmpstr (dothi_export_driver_for (NULL, "thua_dat.dxf"), ==, "DXF");
  g_assert_null (dothi_export_driver_for (NULL, "thua_dat.kml"));
  g_assert_null (dothi_export_driver_for (NULL, "thua_dat"));
  g_assert_null (dothi_export_driver_for ("kml", NULL));
}

/* ---- check ------------------------------------------------------------- */

static void
test_check_heritage (void)
{
  Fixture f = { 0 };
  g_autofree char *heritage = dothi_test_shared_path (HERITAGE);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  const char *only_heritage[] = { "heritage", NULL };
  const char *only_parcels[] = { "thua_dat", NULL };
  const char *missing[] = { "khong_co", NULL };
  DothiCheckProblem *p;
  gint64 checked = 0;

  if (heritage == NULL || !fixture_open (&f, FALSE))
    return;
  import_file (f.project, heritage);

  problems = dothi_check_sync (f.project, only_heritage, &checked, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (checked, ==, 14);
  g_assert_cmpuint (problems->len, ==, 1);
  p = g_ptr_array_index (problems, 0);
  g_assert_cmpstr (p->layer, ==, "heritage");
  g_assert_nonnull (p->reason);
  g_assert_cmpuint (strlen (p->reason), >, 0);
  assert_contains (p->reason, "Self-intersection");
  /* The invalid one is "Tây Nghệ An", the 8th feature of the file. */
  g_assert_cmpint (p->fid, ==, 8);
  {
    g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (f.project, "heritage", &error);
    g_assert_no_error (error);
    g_assert_cmpint (info->feature_count, ==, 14);
  }
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* All layers: still only that one. */
  problems = dothi_check_sync (f.project, NULL, &checked, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (checked, ==, 129 + 14);
  g_assert_cmpuint (problems->len, ==, 1);
  g_clear_pointer (&problems, g_ptr_array_unref);

  problems = dothi_check_sync (f.project, only_parcels, &checked, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (checked, ==, 129);
  g_assert_cmpuint (problems->len, ==, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);

  problems = dothi_check_sync (f.project, missing, NULL, NULL, &error);
  g_assert_null (problems);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "khong_co");
  fixture_close (&f);
}

typedef struct {
  GAsyncResult *result;
  gboolean      progress_off_main;
  guint         n_progress;
  GThread      *main_thread;
} AsyncWait;

static void
async_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncWait *w = data;
  w->result = g_object_ref (result);
}

static void
async_progress (double fraction, const char *stage, gpointer data)
{
  AsyncWait *w = data;

  w->n_progress++;
  if (g_thread_self () != w->main_thread)
    w->progress_off_main = TRUE;
}

/* Export and check on a worker thread: the caller's loop keeps running,
 * progress arrives on the caller's thread, results match the sync calls. */
static void
test_async (void)
{
  Fixture f = { 0 };
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  AsyncWait w = { NULL, FALSE, 0, g_thread_self () };
  gint64 checked = 0;
  GDALDatasetH ds;

  if (!fixture_open (&f, TRUE))
    return;
  path = out_path (&f, "xuat-nen.geojson");
  dothi_export_async (f.project, (const char *const[]) { "thuydien", NULL }, path, NULL, NULL,
                      async_progress, &w, async_done, &w);
  while (w.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (dothi_export_finish (f.project, w.result, &error));
  g_assert_no_error (error);
  g_clear_object (&w.result);
  g_assert_false (w.progress_off_main);
  ds = open_output (path, "GeoJSON");
  g_assert_cmpint (OGR_L_GetFeatureCount (GDALDatasetGetLayer (ds, 0), TRUE), ==, 197);
  GDALClose (ds);

  dothi_check_async (f.project, NULL, NULL, async_done, &w);
  while (w.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  problems = dothi_check_finish (f.project, w.result, &checked, &error);
  g_assert_no_error (error);
  g_assert_nonnull (problems);
  g_assert_cmpint (checked, ==, 129 + 197);
  g_assert_cmpuint (problems->len, ==, 0);
  g_clear_object (&w.result);

  /* A cancelled export leaves no file behind. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    g_autofree char *cancelled = out_path (&f, "huy.gpkg");

    g_cancellable_cancel (cancellable);
    dothi_export_async (f.project, NULL, cancelled, NULL, cancellable, NULL, NULL, async_done, &w);
    while (w.result == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_false (dothi_export_finish (f.project, w.result, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_clear_object (&w.result);
    g_assert_false (g_file_test (cancelled, G_FILE_TEST_EXISTS));
  }
  fixture_close (&f);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add_func ("/export/gpkg", test_gpkg);
  g_test_add_func ("/export/geojson", test_geojson);
  g_test_add_func ("/export/csv", test_csv);
  g_test_add_func ("/export/shapefile", test_shapefile);
  g_test_add_func ("/export/dxf", test_dxf);
  g_test_add_func ("/export/dgn", test_dgn);
  g_test_add_func ("/export/existing-output", test_existing_output);
  g_test_add_func ("/export/several-layers-one-file", test_several_layers_one_file);
  g_test_add_func ("/export/unknown-format", test_unknown_format);
  g_test_add_func ("/export/unknown-layer", test_unknown_layer);
  g_test_add_func ("/export/driver-for", test_driver_for);
  g_test_add_func ("/check/heritage", test_check_heritage);
  g_test_add_func ("/export/async", test_async);

  return g_test_run ();
}
