/* test-epanet.c: the EPANET .inp reader against a small hand-written
 * network, the WNTR and Hanoi sample models, and broken input; the
 * writer by a round trip through a project, before and after edits. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-edit.h"
#include "dothi-epanet.h"
#include "dothi-error.h"
#include "dothi-import.h"
#include "dothi-project.h"
#include "test-util.h"

#include <sqlite3.h>

#include <glib/gstdio.h>
#include <math.h>
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

/* ---- export ---------------------------------------------------------------- */

/* A new project in @dir with @inp imported (EPSG:9218: .inp has no CRS). */
static char *
import_model (const char *dir, const char *inp)
{
  g_autofree char *path = g_build_filename (dir, "model.dothi", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiImport) import = NULL;
  DothiProject *project = dothi_project_create (path, "EPSG:9218", &error);

  g_assert_no_error (error);
  import = dothi_import_new (project, inp);
  dothi_import_set_source_crs (import, "EPSG:9218");
  dothi_import_run_sync (import, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&import);
  dothi_project_close (project);
  g_object_unref (project);
  return g_steal_pointer (&path);
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* Every feature of layer @name of @a is in @b under its id with the same
 * attributes (reals within 1e-6 relative) and geometry (to 0.1 mm). */
static void
assert_same_layer (GDALDatasetH a, GDALDatasetH b, const char *name)
{
  OGRLayerH la = get_layer (a, name);
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (la);
  OGRFeatureH f;

  g_test_message ("layer %s", name);
  g_assert_cmpint (count (a, name), ==, count (b, name));
  OGR_L_ResetReading (la);
  while ((f = OGR_L_GetNextFeature (la)) != NULL)
    {
      const char *id = OGR_F_GetFieldAsString (f, 0);
      OGRFeatureH g = find_feature (b, name, id);
      OGRGeometryH ga = OGR_F_GetGeometryRef (f), gb = OGR_F_GetGeometryRef (g);

      for (int i = 0; i < OGR_FD_GetFieldCount (defn); i++)
        {
          OGRFieldDefnH fd = OGR_FD_GetFieldDefn (defn, i);
          const char *field = OGR_Fld_GetNameRef (fd);

          g_test_message ("%s %s.%s", name, id, field);
          g_assert_cmpint (is_null (f, field), ==, is_null (g, field));
          if (is_null (f, field))
            continue;
          if (OGR_Fld_GetType (fd) == OFTReal)
            g_assert_cmpfloat_with_epsilon (get_real (g, field), get_real (f, field),
                                            1e-6 * MAX (1.0, fabs (get_real (f, field))));
          else
            g_assert_cmpstr (get_string (g, field), ==, get_string (f, field));
        }
      g_assert_cmpint (ga == NULL, ==, gb == NULL);
      if (ga != NULL)
        {
          g_assert_cmpint (OGR_G_GetPointCount (ga), ==, OGR_G_GetPointCount (gb));
          for (int k = 0; k < OGR_G_GetPointCount (ga); k++)
            assert_point (gb, k, OGR_G_GetX (ga, k), OGR_G_GetY (ga, k));
        }
      OGR_F_Destroy (g);
      OGR_F_Destroy (f);
    }
}

static void
test_export_net1 (void)
{
  static const char * const layers[] = {
    "junctions", "reservoirs", "tanks", "pipes", "pumps", "valves",
  };
  g_autofree char *inp = dothi_test_shared_path ("wntr/Net1.inp");
  g_autofree char *dir = NULL;
  g_autofree char *project = NULL;
  g_autofree char *out = NULL;
  g_autofree char *text = NULL;
  g_autofree char *again = NULL;
  g_autofree char *text2 = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GDALDatasetH) original = NULL;
  g_auto(GDALDatasetH) exported = NULL;

  if (inp == NULL)
    return;
  dir = dothi_test_mkdtemp ();
  project = import_model (dir, inp);
  out = g_build_filename (dir, "Net1-out.inp", NULL);
  g_assert_true (dothi_epanet_export (project, NULL, out, &error));
  g_assert_no_error (error);

  original = open_ok (inp);
  exported = open_ok (out);
  g_assert_cmpstr (GDALGetMetadataItem (exported, "EPANET_UNITS", NULL), ==, "LPS");
  g_assert_cmpstr (GDALGetMetadataItem (exported, "EPANET_HEADLOSS", NULL), ==, "H-W");
  g_assert_cmpstr (GDALGetMetadataItem (exported, "EPANET_TITLE", NULL), ==,
                   "EPANET Example Network 1");
  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    assert_same_layer (original, exported, layers[i]);

  /* The sections Dothi does not keep come from the source, in LPS and
   * metres: pump 9's curve (1500 gpm at 250 ft) and the tank levels of
   * the controls (110 and 140 ft). */
  text = read_text (out);
  assert_contains (text, "[PATTERNS]");
  assert_contains (text, "1.4");
  assert_contains (text, "\n 1\t94.6352946\t76.2\n");
  assert_contains (text, "LINK 9 OPEN IF NODE 2 BELOW 33.528\n");
  assert_contains (text, "LINK 9 CLOSED IF NODE 2 ABOVE 42.672\n");
  assert_contains (text, "[TIMES]");
  assert_contains (text, "[END]");
  g_assert_null (strstr (text, "GPM"));

  /* The explicit layer list gives the same file, and exporting the
   * export's import again changes nothing. */
  again = g_build_filename (dir, "Net1-again.inp", NULL);
  g_assert_true (dothi_epanet_export (project, layers, again, &error));
  g_assert_no_error (error);
  text2 = read_text (again);
  g_assert_cmpstr (text2, ==, text);

  dothi_test_rmdir (dir);
}

/* Other models: every layer survives the round trip. */
static void
test_export_others (void)
{
  static const char * const models[] = { "wntr/Net3.inp", "epanet-hanoi/Hanoi.inp" };
  static const char * const layers[] = {
    "junctions", "reservoirs", "tanks", "pipes", "pumps", "valves",
  };

  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    {
      g_autofree char *inp = dothi_test_shared_path (models[m]);
      g_autofree char *dir = NULL;
      g_autofree char *project = NULL;
      g_autofree char *out = NULL;
      g_autoptr(GError) error = NULL;
      g_auto(GDALDatasetH) original = NULL;
      g_auto(GDALDatasetH) exported = NULL;

      if (inp == NULL)
        return;
      dir = dothi_test_mkdtemp ();
      project = import_model (dir, inp);
      out = g_build_filename (dir, "out.inp", NULL);
      g_assert_true (dothi_epanet_export (project, NULL, out, &error));
      g_assert_no_error (error);
      original = open_ok (inp);
      exported = open_ok (out);
      g_assert_cmpstr (GDALGetMetadataItem (exported, "EPANET_HEADLOSS", NULL), ==,
                       GDALGetMetadataItem (original, "EPANET_HEADLOSS", NULL));
      for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
        assert_same_layer (original, exported, layers[i]);
      dothi_test_rmdir (dir);
    }
}

static gint64
pipe_fid (const char *project, const char *id)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 fid = -1;

  g_assert_cmpint (sqlite3_open_v2 (project, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT fid FROM pipes WHERE id = ?1", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    fid = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert_cmpint (fid, >, 0);
  return fid;
}

/* Net1 moved into Đắk Lắk's VN-2000 zone (its drawing coordinates lie
 * near 0, 0, which an edit refuses as outside EPSG:9218's area). */
#define OX 450000.0
#define OY 1400000.0

static char *
write_shifted_net1 (const char *dir, const char *inp)
{
  g_autofree char *text = read_text (inp);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean coordinates = FALSE;

  for (char **line = lines; *line != NULL; line++)
    {
      g_auto(GStrv) t = g_strsplit_set (g_strstrip (*line), " \t", -1);
      GPtrArray *tokens = g_ptr_array_new ();

      for (char **k = t; *k != NULL; k++)
        if (**k != '\0')
          g_ptr_array_add (tokens, *k);
      if (**line == '[')
        coordinates = g_str_has_prefix (*line, "[COORD");
      if (coordinates && tokens->len == 3 && **line != ';')
        g_string_append_printf (out, "%s\t%.3f\t%.3f\n", (char *) tokens->pdata[0],
                                g_ascii_strtod (tokens->pdata[1], NULL) + OX,
                                g_ascii_strtod (tokens->pdata[2], NULL) + OY);
      else
        g_string_append_printf (out, "%s\n", *line);
      g_ptr_array_unref (tokens);
    }
  return write_file (dir, "Net1-vn2000.inp", out->str, out->len);
}

static void
test_export_edited (void)
{
  g_autofree char *inp = dothi_test_shared_path ("wntr/Net1.inp");
  g_autofree char *dir = NULL;
  g_autofree char *project_path = NULL;
  g_autofree char *out = NULL;
  g_autofree char *changes = NULL;
  g_autofree char *shifted = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_auto(GDALDatasetH) ds = NULL;
  DothiProject *project;
  OGRFeatureH f;
  gint64 action;

  if (inp == NULL)
    return;
  dir = dothi_test_mkdtemp ();
  shifted = write_shifted_net1 (dir, inp);
  project_path = import_model (dir, shifted);

  /* Pipe 11 gets a larger diameter, pipe 10 is split at (25, 70), pipe
   * 12 gets a bend, and a new pipe without id joins 31 and 32. */
  changes = g_strdup_printf (
    "{\"type\": \"FeatureCollection\", \"features\": ["
    "{\"type\": \"Feature\", \"id\": %" G_GINT64_FORMAT ", \"properties\": {\"diameter_mm\": 400},"
    " \"geometry\": null},"
    "{\"type\": \"Feature\", \"id\": %" G_GINT64_FORMAT ", \"properties\": {},"
    " \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[450020, 1400070], [450025, 1400070]]}},"
    "{\"type\": \"Feature\", \"properties\": {\"id\": \"10\", \"node1\": \"10\", \"node2\": \"11\","
    " \"length_m\": 3209.544, \"diameter_mm\": 457.2, \"roughness\": 100, \"minor_loss\": 0,"
    " \"status\": \"OPEN\"},"
    " \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[450025, 1400070], [450030, 1400070]]}},"
    "{\"type\": \"Feature\", \"id\": %" G_GINT64_FORMAT ", \"properties\": {},"
    " \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[450050, 1400070], [450060, 1400075], [450070, 1400070]]}},"
    "{\"type\": \"Feature\", \"properties\": {\"diameter_mm\": 150, \"roughness\": 120},"
    " \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[450030, 1400010], [450040, 1400005], [450050, 1400010]]}}"
    "]}",
    pipe_fid (project_path, "11"), pipe_fid (project_path, "10"), pipe_fid (project_path, "12"));
  set = dothi_change_set_new_from_geojson (changes, -1, "pipes", &error);
  g_assert_no_error (error);
  project = dothi_project_open (project_path, 0, &error);
  g_assert_no_error (error);
  action = dothi_edit_apply_sync (project, set, "Sửa mạng", NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (action, >, 0);
  dothi_project_close (project);
  g_object_unref (project);

  out = g_build_filename (dir, "edited.inp", NULL);
  g_assert_true (dothi_epanet_export (project_path, NULL, out, &error));
  g_assert_no_error (error);
  ds = open_ok (out);
  g_assert_cmpint (count (ds, "pipes"), ==, 14);
  g_assert_cmpint (count (ds, "junctions"), ==, 10);

  /* The edited attribute. */
  f = find_feature (ds, "pipes", "11");
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 400, 1e-9);
  OGR_F_Destroy (f);

  /* The split pipe: its id on the first piece, "10_2" on the second, a
   * new junction between them, the length shared. */
  f = find_feature (ds, "pipes", "10");
  g_assert_cmpstr (get_string (f, "node1"), ==, "10");
  g_assert_cmpstr (get_string (f, "node2"), ==, "DT1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 10530 * 0.3048 / 2, 1e-6);
  OGR_F_Destroy (f);
  f = find_feature (ds, "pipes", "10_2");
  g_assert_cmpstr (get_string (f, "node1"), ==, "DT1");
  g_assert_cmpstr (get_string (f, "node2"), ==, "11");
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 10530 * 0.3048 / 2, 1e-6);
  g_assert_cmpfloat_with_epsilon (get_real (f, "diameter_mm"), 457.2, 1e-9);
  OGR_F_Destroy (f);
  f = find_feature (ds, "junctions", "DT1");
  g_assert_cmpfloat_with_epsilon (get_real (f, "elevation_m"), 710 * 0.3048, 1e-3);
  g_assert_cmpfloat_with_epsilon (get_real (f, "demand_lps"), 0, 1e-12);
  assert_point (OGR_F_GetGeometryRef (f), 0, 25 + OX, 70 + OY);
  OGR_F_Destroy (f);

  /* The bend is a vertex; the ends and the length of record stay. */
  f = find_feature (ds, "pipes", "12");
  g_assert_cmpstr (get_string (f, "node1"), ==, "12");
  g_assert_cmpstr (get_string (f, "node2"), ==, "13");
  g_assert_cmpint (OGR_G_GetPointCount (OGR_F_GetGeometryRef (f)), ==, 3);
  assert_point (OGR_F_GetGeometryRef (f), 1, 60 + OX, 75 + OY);
  g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 5280 * 0.3048, 1e-6);
  OGR_F_Destroy (f);

  /* The new pipe without id: a fresh one, joined to the nodes it ends on,
   * its drawn length. */
  {
    g_autofree char *id = g_strdup_printf ("P%" G_GINT64_FORMAT, pipe_fid (project_path, "122") + 2);

    f = find_feature (ds, "pipes", id);
    g_assert_cmpstr (get_string (f, "node1"), ==, "31");
    g_assert_cmpstr (get_string (f, "node2"), ==, "32");
    g_assert_cmpfloat_with_epsilon (get_real (f, "length_m"), 2 * hypot (10, 5), 1e-6);
    g_assert_cmpfloat_with_epsilon (get_real (f, "roughness"), 120, 1e-9);
    OGR_F_Destroy (f);
  }

  dothi_test_rmdir (dir);
}

static void
test_export_bad (void)
{
  static const char * const missing[] = { "junctions", "reservoirs", "tanks", "nope", NULL, NULL };
  g_autofree char *inp = dothi_test_shared_path ("wntr/Net1.inp");
  g_autofree char *dir = NULL;
  g_autofree char *project = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  if (inp == NULL)
    return;
  dir = dothi_test_mkdtemp ();
  project = import_model (dir, inp);
  out = g_build_filename (dir, "out.inp", NULL);
  g_assert_false (dothi_epanet_export (project, missing, out, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "nope");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  dothi_test_rmdir (dir);
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
  g_test_add_func ("/epanet/export/net1", test_export_net1);
  g_test_add_func ("/epanet/export/others", test_export_others);
  g_test_add_func ("/epanet/export/edited", test_export_edited);
  g_test_add_func ("/epanet/export/missing-layer", test_export_bad);

  return g_test_run ();
}
