/* test-epanet.c: the EPANET .inp reader against a small hand-written
 * network, the WNTR and Hanoi sample models, and broken input. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-epanet.h"
#include "dothi-error.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <ogr_api.h>
#include <string.h>

#define GPM_LPS 0.0630901964

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static GDALDatasetH
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  GDALDatasetH ds = dothi_epanet_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ds);
  return ds;
}

static OGRLayerH
get_layer (GDALDatasetH ds, const char *name)
{
  OGRLayerH layer = GDALDatasetGetLayerByName (ds, name);

  g_assert_nonnull (layer);
  return layer;
}

static gint64
count (GDALDatasetH ds, const char *layer)
{
  return OGR_L_GetFeatureCount (get_layer (ds, layer), TRUE);
}

/* The feature of @layer whose "id" is @id (owned by the caller). */
static OGRFeatureH
find_feature (GDALDatasetH ds, const char *layer_name, const char *id)
{
  OGRLayerH layer = get_layer (ds, layer_name);
  OGRFeatureH f;

  OGR_L_ResetReading (layer);
  while ((f = OGR_L_GetNextFeature (layer)) != NULL)
    {
      if (g_strcmp0 (OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "id")), id) == 0)
        return f;
      OGR_F_Destroy (f);
    }
  g_test_message ("no feature “%s” in layer %s", id, layer_name);
  g_assert_not_reached ();
  return NULL;
}

static double
get_real (OGRFeatureH f, const char *field)
{
  int i = OGR_F_GetFieldIndex (f, field);

  g_assert_cmpint (i, >=, 0);
  g_assert_true (OGR_F_IsFieldSetAndNotNull (f, i));
  return OGR_F_GetFieldAsDouble (f, i);
}

static const char *
get_string (OGRFeatureH f, const char *field)
{
  int i = OGR_F_GetFieldIndex (f, field);

  g_assert_cmpint (i, >=, 0);
  if (!OGR_F_IsFieldSetAndNotNull (f, i))
    return NULL;
  return OGR_F_GetFieldAsString (f, i);
}

static gboolean
is_null (OGRFeatureH f, const char *field)
{
  int i = OGR_F_GetFieldIndex (f, field);

  g_assert_cmpint (i, >=, 0);
  return !OGR_F_IsFieldSetAndNotNull (f, i);
}

static void
assert_point (OGRGeometryH g, int i, double x, double y)
{
  g_assert_nonnull (g);
  g_assert_cmpint (i, <, OGR_G_GetPointCount (g));
  g_assert_cmpfloat_with_epsilon (OGR_G_GetX (g, i), x, 0.01);
  g_assert_cmpfloat_with_epsilon (OGR_G_GetY (g, i), y, 0.01);
}

/* Writes @contents to a new file @name in @dir; returns its path. */
static char *
write_file (const char *dir, const char *name, const char *contents, gssize len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, len, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_probe (void)
{
  g_autofree char *tiny = dothi_test_data_path ("epanet/tiny-us.inp");
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *renamed = NULL;
  g_autofree char *other = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (dothi_epanet_probe (tiny));
  g_assert_true (dothi_epanet_probe ("/nonexistent/Model.INP"));
  g_assert_false (dothi_epanet_probe ("/nonexistent/model.txt"));

  g_file_get_contents (tiny, &contents, NULL, &error);
  g_assert_no_error (error);
  renamed = write_file (dir, "model.txt", contents, -1);
  g_assert_true (dothi_epanet_probe (renamed));
  other = write_file (dir, "notes.txt", "[GENERAL]\nNot a water network\n", -1);
  g_assert_false (dothi_epanet_probe (other));
  g_assert_false (dothi_epanet_probe (dir));

  dothi_test_rmdir (dir);
}

static void
check_tiny (GDALDatasetH ds)
{
  OGRFeatureH f;
  OGRGeometryH g;

  g_assert_cmpint (GDALDatasetGetLayerCount (ds), ==, 6);
  g_assert_cmpint (count (ds, "junctions"), ==, 5);
  g_assert_cmpint (count (ds, "reservoirs"), ==, 1);
  g_assert_cmpint (count (ds, "tanks"), ==, 1);
  g_assert_cmpint (count (ds, "pipes"), ==, 5);
  g_assert_cmpint (count (ds, "pumps"), ==, 1);
  g_assert_cmpint (count (ds, "valves"), ==, 3);
  g_assert_cmpstr (GDALGetMetadataItem (ds, "EPANET_UNITS", NULL), ==, "GPM");
  g_assert_cmpstr (GDALGetMetadataItem (ds, "EPANET_HEADLOSS", NULL), ==, "D-W");
  g_assert_cmpstr (GDALGetMetadataItem (ds, "EPANET_TITLE", NULL), ==,
                   "Dothi tiny test network (US customary units)");
  g_assert_null (OGR_L_GetSpatialRef (get_layer (ds, "junctions")));
  g_assert_cmpint (OGR_L_GetGeomType (get_layer (ds, "junctions")), ==, wkbPoint);
  g_assert_cmpint (OGR_L_GetGeomType (get_layer (ds, "pipes")), ==, wkbLineString);

  f = find_feature (ds, "junctions", "J1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 30.48, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 50 * GPM_LPS, 1e-9);
  g_assert_cmpstr (get_string (f, "pattern"), ==, "PAT1");
  assert_point (OGR_F_GetGeometryRef (f), 0, 1000, 2000);
  OGR_F_Destroy (f);

  /* [DEMANDS] replaces the [JUNCTIONS] column, its first pattern too. */
  f = find_feature (ds, "junctions", "J2");
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 95.5 * 0.3048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 15.5 * GPM_LPS, 1e-9);
  g_assert_cmpstr (get_string (f, "pattern"), ==, "PAT2");
  OGR_F_Destroy (f);

  f = find_feature (ds, "junctions", "J 3");
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 25.5 * GPM_LPS, 1e-9);
  g_assert_true (is_null (f, "pattern"));
  OGR_F_Destroy (f);

  f = find_feature (ds, "junctions", "J4");
  g_assert_null (OGR_F_GetGeometryRef (f));
  OGR_F_Destroy (f);

  f = find_feature (ds, "junctions", "J5");
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 0.0, 1e-12);
  OGR_F_Destroy (f);

  f = find_feature (ds, "reservoirs", "R1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "head_m"), 60.96, 1e-9);
  g_assert_true (is_null (f, "pattern"));
  assert_point (OGR_F_GetGeometryRef (f), 0, 900, 2100);
  OGR_F_Destroy (f);

  f = find_feature (ds, "tanks", "T1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 45.72, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "init_level_m"), 3.048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "min_level_m"), 1.524, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "max_level_m"), 6.096, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_m"), 12.192, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "min_volume_m3"), 2.8316846592, 1e-9);
  g_assert_cmpstr (get_string (f, "volume_curve"), ==, "VC1");
  OGR_F_Destroy (f);

  f = find_feature (ds, "pipes", "P1");
  g_assert_cmpstr (get_string (f, "node1"), ==, "R1");
  g_assert_cmpstr (get_string (f, "node2"), ==, "J1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 304.8, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 304.8, 1e-9);
  /* D-W roughness: 0.5 millifeet. */
  g_assert_cmpfloat_with_epsilon (get_real (f, "roughness"), 0.1524, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "minor_loss"), 0.0, 1e-12);
  g_assert_cmpstr (get_string (f, "status"), ==, "OPEN");
  g = OGR_F_GetGeometryRef (f);
  g_assert_cmpint (OGR_G_GetPointCount (g), ==, 4);
  assert_point (g, 0, 900, 2100);
  assert_point (g, 1, 925.5, 2075.25);
  assert_point (g, 2, 960, 2040);
  assert_point (g, 3, 1000, 2000);
  OGR_F_Destroy (f);

  f = find_feature (ds, "pipes", "P2");
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 152.5524, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 203.2, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "minor_loss"), 0.2, 1e-12);
  g_assert_cmpstr (get_string (f, "status"), ==, "CV");
  g_assert_cmpint (OGR_G_GetPointCount (OGR_F_GetGeometryRef (f)), ==, 2);
  OGR_F_Destroy (f);

  /* A seventh value alone may be the status. */
  f = find_feature (ds, "pipes", "P 3");
  g_assert_cmpstr (get_string (f, "node2"), ==, "J 3");
  g_assert_cmpstr (get_string (f, "status"), ==, "CLOSED");
  g_assert_cmpfloat_with_epsilon (get_real (f, "minor_loss"), 0.0, 1e-12);
  OGR_F_Destroy (f);

  f = find_feature (ds, "pipes", "P5");
  g_assert_null (OGR_F_GetGeometryRef (f));
  OGR_F_Destroy (f);

  f = find_feature (ds, "pumps", "PU1");
  g_assert_cmpstr (get_string (f, "parameters"), ==, "POWER 10 SPEED 1.2");
  g_assert_cmpfloat_with_epsilon (get_real (f, "power_kw"), 7.45699872, 1e-9);
  assert_point (OGR_F_GetGeometryRef (f), 1, 1250, 1900);
  OGR_F_Destroy (f);

  /* 50 psi at specific gravity 1 is 50 / 0.4333 ft of water. */
  f = find_feature (ds, "valves", "V1");
  g_assert_cmpstr (get_string (f, "type"), ==, "PRV");
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 152.4, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "setting"), 50 / 0.4333 * 0.3048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "minor_loss"), 0.3, 1e-12);
  g_assert_true (is_null (f, "curve"));
  OGR_F_Destroy (f);

  f = find_feature (ds, "valves", "V2");
  g_assert_cmpstr (get_string (f, "type"), ==, "FCV");
  g_assert_cmpfloat_with_epsilon (get_real (f, "setting"), 100 * GPM_LPS, 1e-9);
  OGR_F_Destroy (f);

  f = find_feature (ds, "valves", "V3");
  g_assert_cmpstr (get_string (f, "type"), ==, "GPV");
  g_assert_true (is_null (f, "setting"));
  g_assert_cmpstr (get_string (f, "curve"), ==, "HLC1");
  g_assert_null (OGR_F_GetGeometryRef (f));
  OGR_F_Destroy (f);
}

static void
test_tiny (void)
{
  g_autofree char *path = dothi_test_data_path ("epanet/tiny-us.inp");
  g_auto(GDALDatasetH) ds = open_ok (path);

  check_tiny (ds);
}

/* The same network with CRLF line ends and a UTF-8 BOM. */
static void
test_tiny_crlf (void)
{
  g_autofree char *tiny = dothi_test_data_path ("epanet/tiny-us.inp");
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *contents = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) crlf = g_string_new ("\xef\xbb\xbf");

  g_file_get_contents (tiny, &contents, NULL, &error);
  g_assert_no_error (error);
  for (const char *c = contents; *c != '\0'; c++)
    {
      if (*c == '\n')
        g_string_append_c (crlf, '\r');
      g_string_append_c (crlf, *c);
    }
  path = write_file (dir, "tiny-crlf.inp", crlf->str, crlf->len);
  {
    g_auto(GDALDatasetH) ds = open_ok (path);

    check_tiny (ds);
  }
  dothi_test_rmdir (dir);
}

typedef struct {
  const char *name;
  const char *contents;
  int         code;
  const char *expected[3];   /* substrings of the message */
} BadInput;

static const BadInput bad_inputs[] = {
  { "number.inp",
    "[JUNCTIONS]\n J1 100\n J2 1O0 ; letter O\n",
    DOTHI_ERROR_INVALID_DATA, { "number.inp, line 3", "[JUNCTIONS]", "“1O0”" } },
  { "coordinate.inp",
    "[JUNCTIONS]\n J1 100\n[COORDINATES]\n J1 12,5 3\n",
    DOTHI_ERROR_INVALID_DATA, { "line 4", "[COORDINATES]", "“12,5”" } },
  { "missing-node.inp",
    "[PIPES]\n P1 J1 J9 100 8 100\n[JUNCTIONS]\n J1 100\n",
    DOTHI_ERROR_INVALID_DATA, { "missing-node.inp, line 2", "[PIPES]", "“J9”" } },
  { "demand-node.inp",
    "[JUNCTIONS]\n J1 100\n\n[DEMANDS]\n J2 5\n",
    DOTHI_ERROR_INVALID_DATA, { "line 5", "[DEMANDS]", "“J2”" } },
  { "unknown-section.inp",
    "[JUNCTIONS]\n J1 100\n[FOO]\n bar\n",
    DOTHI_ERROR_INVALID_DATA, { "unknown-section.inp, line 3", "[FOO]", NULL } },
  { "few-values.inp",
    "[JUNCTIONS]\n J1 100\n J2 100\n[PIPES]\n P1 J1 J2 100\n",
    DOTHI_ERROR_INVALID_DATA, { "line 5", "[PIPES]", "6 values" } },
  { "duplicate.inp",
    "[JUNCTIONS]\n J1 100\n[TANKS]\n J1 100 1 0 2 10\n",
    DOTHI_ERROR_INVALID_DATA, { "line 4", "[TANKS]", "line 2" } },
  { "units.inp",
    "[JUNCTIONS]\n J1 100\n[OPTIONS]\n Units GPH\n",
    DOTHI_ERROR_INVALID_DATA, { "line 4", "[OPTIONS]", "“GPH”" } },
  { "valve-type.inp",
    "[JUNCTIONS]\n J1 100\n J2 100\n[VALVES]\n V1 J1 J2 6 XYZ 10\n",
    DOTHI_ERROR_INVALID_DATA, { "line 5", "[VALVES]", "“XYZ”" } },
  { "pipe-status.inp",
    "[JUNCTIONS]\n J1 100\n J2 100\n[PIPES]\n P1 J1 J2 100 8 100 0 Shut\n",
    DOTHI_ERROR_INVALID_DATA, { "line 5", "[PIPES]", "“Shut”" } },
  { "pump-keyword.inp",
    "[JUNCTIONS]\n J1 100\n J2 100\n[PUMPS]\n U1 J1 J2 FLOW 10\n",
    DOTHI_ERROR_INVALID_DATA, { "line 5", "[PUMPS]", "“FLOW”" } },
  { "empty-id.inp",
    "[JUNCTIONS]\n \"\" 100\n",
    DOTHI_ERROR_INVALID_DATA, { "line 2", "[JUNCTIONS]", NULL } },
  { "no-sections.inp",
    "just some text\n",
    DOTHI_ERROR_INVALID_DATA, { "no-sections.inp", NULL, NULL } },
  { "latin1.inp",
    "[JUNCTIONS]\n J1 100\n N\xfat 100\n",
    DOTHI_ERROR_INVALID_DATA, { "latin1.inp, line 3", "UTF-8", NULL } },
  { "utf16.inp",
    "[\0J\0U\0N\0C\0",
    DOTHI_ERROR_INVALID_DATA, { "utf16.inp", NULL, NULL } },
  { "swmm.inp",
    "[TITLE]\n[OPTIONS]\nFLOW_UNITS CFS\n[JUNCTIONS]\nJ1 100 0\n[CONDUITS]\nC1 J1 J2 400 0.01\n",
    DOTHI_ERROR_UNSUPPORTED, { "swmm.inp, line 6", "SWMM", NULL } },
};

static void
test_bad_input (gconstpointer data)
{
  const BadInput *bad = data;
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  GDALDatasetH ds;
  gssize len = strcmp (bad->name, "utf16.inp") == 0 ? 10 : -1;

  path = write_file (dir, bad->name, bad->contents, len);
  ds = dothi_epanet_open (path, &error);
  g_assert_null (ds);
  g_assert_error (error, DOTHI_ERROR, bad->code);
  for (guint i = 0; i < G_N_ELEMENTS (bad->expected) && bad->expected[i] != NULL; i++)
    assert_contains (error->message, bad->expected[i]);
  dothi_test_rmdir (dir);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (dothi_epanet_open ("/nonexistent/network.inp", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "network.inp");
}

/* A Windows code page file fails as UTF-8 and reads with its encoding. */
static void
test_encoding (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  GDALDatasetH ds;

  path = write_file (dir, "cp1252.inp",
                     "[JUNCTIONS]\n J1 100\n 12\xd9 100\n[PIPES]\n P1 J1 12\xd9 10 8 100\n", -1);
  ds = dothi_epanet_open (path, &error);
  g_assert_null (ds);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "line 3");
  g_clear_error (&error);

  ds = dothi_epanet_open_with_encoding (path, "CP1252", &error);
  g_assert_no_error (error);
  g_assert_nonnull (ds);
  {
    g_auto(OGRFeatureH) f = find_feature (ds, "pipes", "P1");

    g_assert_cmpstr (get_string (f, "node2"), ==, "12\xc3\x99");
  }
  GDALClose (ds);

  ds = dothi_epanet_open_with_encoding (path, "NO-SUCH-ENCODING", &error);
  g_assert_null (ds);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  dothi_test_rmdir (dir);
}

/* Ids are stored as NFC, so a decomposed and a precomposed spelling of
 * the same name refer to one node. */
static void
test_nfc (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = NULL;

  path = write_file (dir, "nfc.inp",
                     "[JUNCTIONS]\n Nu\xcc\x81t 100\n J2 100\n"
                     "[PIPES]\n P1 N\xc3\xbat J2 10 8 100\n", -1);
  {
    g_auto(GDALDatasetH) ds = open_ok (path);
    g_auto(OGRFeatureH) j = find_feature (ds, "junctions", "N\xc3\xbat");
    g_auto(OGRFeatureH) p = find_feature (ds, "pipes", "P1");

    g_assert_cmpstr (get_string (p, "node1"), ==, "N\xc3\xbat");
    /* No [COORDINATES] at all: every geometry is NULL. */
    g_assert_null (OGR_F_GetGeometryRef (j));
    g_assert_null (OGR_F_GetGeometryRef (p));
  }
  dothi_test_rmdir (dir);
}

/* Truncated and corrupted copies of the tiny network: each either opens
 * or fails with a DOTHI_ERROR, never both, never a crash. */
static void
test_robust (void)
{
  static const char noise[] = "[];\"\n\r\t 0.-eE\xff\xc3\x80Zz";
  g_autofree char *tiny = dothi_test_data_path ("epanet/tiny-us.inp");
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  guint opened = 0;
  guint failed = 0;

  g_file_get_contents (tiny, &contents, &len, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 600; i++)
    {
      g_autofree char *copy = g_memdup2 (contents, len + 1);
      g_autofree char *path = NULL;
      gsize copy_len = len;
      GDALDatasetH ds;

      if (i < 200)
        copy_len = (len * i) / 200;
      else
        for (guint k = 0; k < 1 + i % 5; k++)
          copy[g_test_rand_int_range (0, len)] =
            noise[g_test_rand_int_range (0, sizeof noise - 1)];
      path = write_file (dir, "mutant.inp", copy, copy_len);
      ds = dothi_epanet_open (path, &error);
      if (ds != NULL)
        {
          g_assert_no_error (error);
          opened++;
          GDALClose (ds);
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_cmpuint (error->domain, ==, DOTHI_ERROR);
          g_assert_cmpstr (error->message, !=, "");
          failed++;
          g_clear_error (&error);
        }
    }
  g_test_message ("%u opened, %u failed", opened, failed);
  g_assert_cmpuint (opened, >, 0);
  g_assert_cmpuint (failed, >, 0);
  dothi_test_rmdir (dir);
}

static void
test_bad_syntax (void)
{
  g_autofree char *path = dothi_test_shared_path ("wntr/bad_syntax.inp");
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return;
  g_assert_true (dothi_epanet_probe (path));
  g_assert_null (dothi_epanet_open (path, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "bad_syntax.inp, line 330");
  assert_contains (error->message, "[FOO]");
}

static void
test_net1 (void)
{
  g_autofree char *path = dothi_test_shared_path ("wntr/Net1.inp");
  g_auto(GDALDatasetH) ds = NULL;
  OGRFeatureH f;

  if (path == NULL)
    return;
  g_assert_true (dothi_epanet_probe (path));
  ds = open_ok (path);
  g_assert_cmpint (count (ds, "junctions"), ==, 9);
  g_assert_cmpint (count (ds, "pipes"), ==, 12);
  g_assert_cmpint (count (ds, "pumps"), ==, 1);
  g_assert_cmpint (count (ds, "tanks"), ==, 1);
  g_assert_cmpint (count (ds, "reservoirs"), ==, 1);
  g_assert_cmpint (count (ds, "valves"), ==, 0);
  g_assert_cmpstr (GDALGetMetadataItem (ds, "EPANET_TITLE", NULL), ==,
                   "EPANET Example Network 1");

  f = find_feature (ds, "junctions", "11");
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 710 * 0.3048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 150 * GPM_LPS, 1e-9);
  g_assert_true (is_null (f, "pattern"));
  assert_point (OGR_F_GetGeometryRef (f), 0, 30, 70);
  OGR_F_Destroy (f);

  f = find_feature (ds, "pipes", "10");
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 10530 * 0.3048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 457.2, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "roughness"), 100, 1e-12);
  g_assert_cmpstr (get_string (f, "status"), ==, "OPEN");
  assert_point (OGR_F_GetGeometryRef (f), 0, 20, 70);
  assert_point (OGR_F_GetGeometryRef (f), 1, 30, 70);
  OGR_F_Destroy (f);

  f = find_feature (ds, "pumps", "9");
  g_assert_cmpstr (get_string (f, "parameters"), ==, "HEAD 1");
  g_assert_true (is_null (f, "power_kw"));
  assert_point (OGR_F_GetGeometryRef (f), 0, 10, 70);
  assert_point (OGR_F_GetGeometryRef (f), 1, 20, 70);
  OGR_F_Destroy (f);

  f = find_feature (ds, "tanks", "2");
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 850 * 0.3048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "init_level_m"), 120 * 0.3048, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_m"), 50.5 * 0.3048, 1e-9);
  g_assert_true (is_null (f, "volume_curve"));
  OGR_F_Destroy (f);

  f = find_feature (ds, "reservoirs", "9");
  g_assert_cmpfloat_with_epsilon (get_real (f, "head_m"), 800 * 0.3048, 1e-9);
  OGR_F_Destroy (f);
}

static void
test_hanoi (void)
{
  g_autofree char *path = dothi_test_shared_path ("epanet-hanoi/Hanoi.inp");
  g_auto(GDALDatasetH) ds = NULL;
  OGRFeatureH f;

  if (path == NULL)
    return;
  ds = open_ok (path);
  g_assert_cmpstr (GDALGetMetadataItem (ds, "EPANET_UNITS", NULL), ==, "LPS");
  g_assert_cmpint (count (ds, "junctions"), ==, 31);
  g_assert_cmpint (count (ds, "reservoirs"), ==, 1);
  g_assert_cmpint (count (ds, "tanks"), ==, 0);
  g_assert_cmpint (count (ds, "pipes"), ==, 34);

  /* SI units: diameters are already millimetres, lengths metres. */
  f = find_feature (ds, "pipes", "12");
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 609.6, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 3500, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "roughness"), 130, 1e-12);
  OGR_F_Destroy (f);

  /* The demand is only in [DEMANDS], already in L/s. */
  f = find_feature (ds, "junctions", "2");
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 247.22, 1e-9);
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 30, 1e-9);
  assert_point (OGR_F_GetGeometryRef (f), 0, 3896.830078, 9031.75);
  OGR_F_Destroy (f);

  f = find_feature (ds, "reservoirs", "1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "head_m"), 100, 1e-9);
  OGR_F_Destroy (f);
}

static void
test_latin1 (void)
{
  g_autofree char *path = dothi_test_shared_path ("wntr/latin1.inp");
  g_auto(GDALDatasetH) ds = NULL;
  OGRFeatureH f;

  if (path == NULL)
    return;
  /* Despite its name, the file is UTF-8. */
  ds = open_ok (path);
  g_assert_cmpint (count (ds, "pipes"), ==, 12);
  f = find_feature (ds, "pipes", "12\xc3\x99");
  g_assert_cmpstr (get_string (f, "node1"), ==, "12");
  g_assert_cmpstr (get_string (f, "node2"), ==, "13");
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 254, 1e-9);
  OGR_F_Destroy (f);
}

static void
test_net6 (void)
{
  g_autofree char *path = dothi_test_shared_path ("wntr/Net6.inp");
  g_auto(GDALDatasetH) ds = NULL;

  if (path == NULL)
    return;
  ds = open_ok (path);
  g_assert_cmpint (count (ds, "junctions"), ==, 3323);
  g_assert_cmpint (count (ds, "pipes"), ==, 3829);
  g_assert_cmpint (count (ds, "pumps"), ==, 61);
  g_assert_cmpint (count (ds, "valves"), ==, 2);
  g_assert_cmpint (count (ds, "tanks"), ==, 32);
}

/* Every other sample model opens. */
static void
test_other_samples (void)
{
  static const char * const names[] = {
    "wntr/Anytown.inp", "wntr/Net2.inp", "wntr/Net3.inp", "wntr/ky10.inp",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = dothi_test_shared_path (names[i]);
      g_auto(GDALDatasetH) ds = NULL;

      if (path == NULL)
        return;
      ds = open_ok (path);
      g_assert_cmpint (count (ds, "junctions"), >, 0);
      g_assert_cmpint (count (ds, "pipes"), >, 0);
    }
}

/* id -> feature of one layer of @ds (features owned by the table). */
static GHashTable *
index_layer (GDALDatasetH ds, const char *name)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) OGR_F_Destroy);
  OGRLayerH layer = get_layer (ds, name);
  OGRFeatureH f;

  OGR_L_ResetReading (layer);
  while ((f = OGR_L_GetNextFeature (layer)) != NULL)
    g_hash_table_insert (table, g_strdup (get_string (f, "id")), f);
  return table;
}

static GDALDatasetH
open_geojson (const char *relative)
{
  g_autofree char *path = dothi_test_shared_path (relative);
  GDALDatasetH ds;

  if (path == NULL)
    return NULL;
  ds = GDALOpenEx (path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  g_assert_nonnull (ds);
  return ds;
}

/* ky4.inp against the GeoJSON WNTR wrote from it, in SI units (m³/s,
 * m) with the .inp's coordinates. */
static void
test_ky4_wntr (void)
{
  g_autofree char *path = dothi_test_shared_path ("wntr/ky4.inp");
  g_auto(GDALDatasetH) ds = NULL;
  g_auto(GDALDatasetH) junctions = NULL;
  g_auto(GDALDatasetH) pipes = NULL;
  g_auto(GDALDatasetH) pumps = NULL;
  g_auto(GDALDatasetH) tanks = NULL;
  g_auto(GDALDatasetH) reservoirs = NULL;
  g_autoptr(GHashTable) ours = NULL;
  OGRLayerH layer;
  OGRFeatureH theirs;
  guint checked;

  if (path == NULL
      || (junctions = open_geojson ("wntr/ky4_junctions.geojson")) == NULL
      || (pipes = open_geojson ("wntr/ky4_pipes.geojson")) == NULL
      || (pumps = open_geojson ("wntr/ky4_pumps.geojson")) == NULL
      || (tanks = open_geojson ("wntr/ky4_tanks.geojson")) == NULL
      || (reservoirs = open_geojson ("wntr/ky4_reservoirs.geojson")) == NULL)
    return;
  ds = open_ok (path);

  g_assert_cmpint (count (ds, "junctions"), ==, 959);
  g_assert_cmpint (count (ds, "pipes"), ==, 1156);
  g_assert_cmpint (count (ds, "pumps"), ==, 2);
  g_assert_cmpint (count (ds, "tanks"), ==, 4);
  g_assert_cmpint (count (ds, "reservoirs"), ==, 1);
  g_assert_cmpint (count (ds, "valves"), ==, 0);

  /* Junctions */
  layer = GDALDatasetGetLayer (junctions, 0);
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==, 959);
  ours = index_layer (ds, "junctions");
  checked = 0;
  OGR_L_ResetReading (layer);
  while ((theirs = OGR_L_GetNextFeature (layer)) != NULL)
    {
      const char *id = OGR_F_GetFieldAsString (theirs, OGR_F_GetFieldIndex (theirs, "name"));
      OGRFeatureH f = g_hash_table_lookup (ours, id);
      OGRGeometryH g = OGR_F_GetGeometryRef (theirs);

      g_assert_nonnull (f);
      g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"),
                                      get_real (theirs, "elevation"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"),
                                      get_real (theirs, "base_demand") * 1000.0, 1e-6);
      /* WNTR fills in the default pattern ([OPTIONS] Pattern 1) where
       * the file has none; Dothi keeps what the file says. */
      g_assert_cmpstr (get_string (f, "pattern") ? get_string (f, "pattern") : "1",
                       ==, get_string (theirs, "demand_pattern"));
      assert_point (OGR_F_GetGeometryRef (f), 0, OGR_G_GetX (g, 0), OGR_G_GetY (g, 0));
      OGR_F_Destroy (theirs);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 959);
  g_clear_pointer (&ours, g_hash_table_unref);

  /* Pipes, every vertex */
  layer = GDALDatasetGetLayer (pipes, 0);
  g_assert_cmpint (OGR_L_GetFeatureCount (layer, TRUE), ==, 1156);
  ours = index_layer (ds, "pipes");
  checked = 0;
  OGR_L_ResetReading (layer);
  while ((theirs = OGR_L_GetNextFeature (layer)) != NULL)
    {
      const char *id = OGR_F_GetFieldAsString (theirs, OGR_F_GetFieldIndex (theirs, "name"));
      OGRFeatureH f = g_hash_table_lookup (ours, id);
      OGRGeometryH g = OGR_F_GetGeometryRef (theirs);
      OGRGeometryH mine;

      g_assert_nonnull (f);
      g_assert_cmpstr (get_string (f, "node1"), ==, get_string (theirs, "start_node_name"));
      g_assert_cmpstr (get_string (f, "node2"), ==, get_string (theirs, "end_node_name"));
      g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"),
                                      get_real (theirs, "length"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"),
                                      get_real (theirs, "diameter") * 1000.0, 0.01);
      g_assert_cmpfloat_with_epsilon (get_real (f, "roughness"),
                                      get_real (theirs, "roughness"), 1e-9);
      g_assert_cmpfloat_with_epsilon (get_real (f, "minor_loss"),
                                      get_real (theirs, "minor_loss"), 1e-9);
      g_assert_cmpint (g_ascii_strcasecmp (get_string (f, "status"),
                                           get_string (theirs, "initial_status")), ==, 0);
      mine = OGR_F_GetGeometryRef (f);
      g_assert_nonnull (mine);
      g_assert_cmpint (OGR_G_GetPointCount (mine), ==, OGR_G_GetPointCount (g));
      for (int i = 0; i < OGR_G_GetPointCount (g); i++)
        assert_point (mine, i, OGR_G_GetX (g, i), OGR_G_GetY (g, i));
      OGR_F_Destroy (theirs);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 1156);
  g_clear_pointer (&ours, g_hash_table_unref);

  /* Pumps: WNTR wrote points, at the start node (both ends coincide). */
  layer = GDALDatasetGetLayer (pumps, 0);
  ours = index_layer (ds, "pumps");
  checked = 0;
  OGR_L_ResetReading (layer);
  while ((theirs = OGR_L_GetNextFeature (layer)) != NULL)
    {
      const char *id = OGR_F_GetFieldAsString (theirs, OGR_F_GetFieldIndex (theirs, "name"));
      OGRFeatureH f = g_hash_table_lookup (ours, id);
      OGRGeometryH g = OGR_F_GetGeometryRef (theirs);

      g_assert_nonnull (f);
      g_assert_cmpstr (get_string (f, "node1"), ==, get_string (theirs, "start_node_name"));
      g_assert_cmpstr (get_string (f, "node2"), ==, get_string (theirs, "end_node_name"));
      /* WNTR's power is in W. */
      g_assert_cmpfloat_with_epsilon (get_real (f, "power_kw"),
                                      get_real (theirs, "power") / 1000.0, 1e-3);
      assert_point (OGR_F_GetGeometryRef (f), 0, OGR_G_GetX (g, 0), OGR_G_GetY (g, 0));
      OGR_F_Destroy (theirs);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 2);
  g_clear_pointer (&ours, g_hash_table_unref);

  /* Tanks */
  layer = GDALDatasetGetLayer (tanks, 0);
  ours = index_layer (ds, "tanks");
  checked = 0;
  OGR_L_ResetReading (layer);
  while ((theirs = OGR_L_GetNextFeature (layer)) != NULL)
    {
      const char *id = OGR_F_GetFieldAsString (theirs, OGR_F_GetFieldIndex (theirs, "name"));
      OGRFeatureH f = g_hash_table_lookup (ours, id);
      OGRGeometryH g = OGR_F_GetGeometryRef (theirs);

      g_assert_nonnull (f);
      g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"),
                                      get_real (theirs, "elevation"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "init_level_m"),
                                      get_real (theirs, "init_level"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "min_level_m"),
                                      get_real (theirs, "min_level"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "max_level_m"),
                                      get_real (theirs, "max_level"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_m"),
                                      get_real (theirs, "diameter"), 1e-3);
      g_assert_cmpfloat_with_epsilon (get_real (f, "min_volume_m3"),
                                      get_real (theirs, "min_vol"), 1e-3);
      assert_point (OGR_F_GetGeometryRef (f), 0, OGR_G_GetX (g, 0), OGR_G_GetY (g, 0));
      OGR_F_Destroy (theirs);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 4);
  g_clear_pointer (&ours, g_hash_table_unref);

  /* Reservoirs */
  layer = GDALDatasetGetLayer (reservoirs, 0);
  ours = index_layer (ds, "reservoirs");
  checked = 0;
  OGR_L_ResetReading (layer);
  while ((theirs = OGR_L_GetNextFeature (layer)) != NULL)
    {
      const char *id = OGR_F_GetFieldAsString (theirs, OGR_F_GetFieldIndex (theirs, "name"));
      OGRFeatureH f = g_hash_table_lookup (ours, id);
      OGRGeometryH g = OGR_F_GetGeometryRef (theirs);

      g_assert_nonnull (f);
      g_assert_cmpfloat_with_epsilon (get_real (f, "head_m"),
                                      get_real (theirs, "base_head"), 1e-3);
      assert_point (OGR_F_GetGeometryRef (f), 0, OGR_G_GetX (g, 0), OGR_G_GetY (g, 0));
      OGR_F_Destroy (theirs);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 1);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add_func ("/epanet/probe", test_probe);
  g_test_add_func ("/epanet/open/tiny", test_tiny);
  g_test_add_func ("/epanet/open/tiny-crlf-bom", test_tiny_crlf);
  g_test_add_func ("/epanet/open/nfc-ids", test_nfc);
  g_test_add_func ("/epanet/open/encoding", test_encoding);
  g_test_add_func ("/epanet/open/missing-file", test_missing_file);
  for (guint i = 0; i < G_N_ELEMENTS (bad_inputs); i++)
    {
      g_autofree char *name = g_strdup (bad_inputs[i].name);
      g_autofree char *test_path = NULL;

      *strrchr (name, '.') = '\0';
      test_path = g_strdup_printf ("/epanet/open/bad/%s", name);
      g_test_add_data_func (test_path, &bad_inputs[i], test_bad_input);
    }
  g_test_add_func ("/epanet/open/robust", test_robust);
  g_test_add_func ("/epanet/wntr/bad-syntax", test_bad_syntax);
  g_test_add_func ("/epanet/wntr/net1", test_net1);
  g_test_add_func ("/epanet/wntr/latin1", test_latin1);
  g_test_add_func ("/epanet/wntr/net6", test_net6);
  g_test_add_func ("/epanet/wntr/others", test_other_samples);
  g_test_add_func ("/epanet/wntr/ky4-geojson", test_ky4_wntr);
  g_test_add_func ("/epanet/hanoi", test_hanoi);

  return g_test_run ();
}
