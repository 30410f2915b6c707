/* test-demo-city.c: the demo city generator: layers and CRS, valid and
 * non-overlapping parcels, plausible attributes and networks, determinism,
 * refusal to overwrite, cancellation, progress and the async variant. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "dothi-autocleanups.h"
#include "dothi-demo-city.h"
#include "dothi-error.h"
#include "test-util.h"

#define DEMO_PARCELS 10000
#define DEMO_SEED 42

/* The 10 000-parcel city most tests read, written once. */
static char *shared_dir;
static char *shared_city;

static const char *
demo_city (void)
{
  if (shared_city == NULL)
    {
      g_autoptr(GError) error = NULL;

      shared_dir = dothi_test_mkdtemp ();
      shared_city = g_build_filename (shared_dir, "city.gpkg", NULL);
      dothi_demo_city_write (shared_city, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  return shared_city;
}

static GDALDatasetH
open_city (const char *path)
{
  GDALDatasetH ds = GDALOpenEx (path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);

  g_assert_nonnull (ds);
  return ds;
}

static OGRLayerH
get_layer (GDALDatasetH  ds,
           const char   *name)
{
  OGRLayerH layer = GDALDatasetGetLayerByName (ds, name);

  g_assert_nonnull (layer);
  OGR_L_ResetReading (layer);
  return layer;
}

static gboolean
in_list (const char         *value,
         const char * const *list)
{
  return g_strv_contains (list, value);
}

/* Vertices as whole centimetres, the generator's own grid. */
static inline gint64
cm (double v)
{
  return llround (v * 100.0);
}

static inline gint64
vertex_key (double x,
            double y)
{
  return (cm (x) << 28) ^ cm (y);
}

static const struct
{
  const char         *name;
  OGRwkbGeometryType  type;
} expected_layers[] = {
  { "parcels", wkbMultiPolygon },
  { "zoning", wkbMultiPolygon },
  { "roads", wkbMultiLineString },
  { "water_mains", wkbMultiLineString },
  { "water_valves", wkbMultiPoint },
  { "power_lines", wkbMultiLineString },
  { "sensor_stations", wkbMultiPoint },
};

static const struct
{
  const char   *layer;
  const char   *field;
  OGRFieldType  type;
} expected_fields[] = {
  { "parcels", "so_to", OFTInteger },
  { "parcels", "so_thua", OFTInteger },
  { "parcels", "ma_xa", OFTString },
  { "parcels", "ten_chu", OFTString },
  { "parcels", "muc_dich", OFTString },
  { "parcels", "dien_tich", OFTReal },
  { "parcels", "dia_chi", OFTString },
  { "zoning", "ma_khu", OFTString },
  { "zoning", "chuc_nang", OFTString },
  { "zoning", "mat_do_xd", OFTInteger },
  { "zoning", "tang_cao", OFTInteger },
  { "roads", "ten_duong", OFTString },
  { "roads", "cap", OFTString },
  { "roads", "rong_m", OFTReal },
  { "water_mains", "ma_ong", OFTString },
  { "water_mains", "duong_kinh_mm", OFTInteger },
  { "water_mains", "vat_lieu", OFTString },
  { "water_mains", "nam_lap", OFTInteger },
  { "water_valves", "ma_van", OFTString },
  { "water_valves", "loai", OFTString },
  { "water_valves", "trang_thai", OFTString },
  { "water_valves", "duong_kinh_mm", OFTInteger },
  { "power_lines", "ma_tuyen", OFTString },
  { "power_lines", "cap_dien_ap_kv", OFTReal },
  { "power_lines", "ten", OFTString },
  { "sensor_stations", "ma_tram", OFTString },
  { "sensor_stations", "loai", OFTString },
  { "sensor_stations", "ten", OFTString },
};

static void
test_layers (void)
{
  g_auto(GDALDatasetH) ds = open_city (demo_city ());
  GIntBig counts[G_N_ELEMENTS (expected_layers)];

  g_assert_cmpint (GDALDatasetGetLayerCount (ds), ==, G_N_ELEMENTS (expected_layers));
  for (guint t = 0; t < G_N_ELEMENTS (expected_layers); t++)
    {
      OGRLayerH layer = get_layer (ds, expected_layers[t].name);
      OGRSpatialReferenceH srs = OGR_L_GetSpatialRef (layer);

      g_test_message ("%s: %" G_GINT64_FORMAT " features", expected_layers[t].name,
                      (gint64) OGR_L_GetFeatureCount (layer, TRUE));
      g_assert_cmpint (OGR_L_GetGeomType (layer), ==, expected_layers[t].type);
      g_assert_cmpstr (OGR_L_GetFIDColumn (layer), ==, "fid");
      g_assert_nonnull (srs);
      g_assert_cmpstr (OSRGetAuthorityName (srs, NULL), ==, "EPSG");
      g_assert_cmpstr (OSRGetAuthorityCode (srs, NULL), ==, "9218");
      counts[t] = OGR_L_GetFeatureCount (layer, TRUE);
      g_assert_cmpint (counts[t], >, 0);
    }
  g_assert_cmpint (counts[0], ==, DEMO_PARCELS);
  /* blocks of a few dozen parcels, each with its zone and bordering roads */
  g_assert_cmpint (counts[1], >, DEMO_PARCELS / 40);
  g_assert_cmpint (counts[1], <, DEMO_PARCELS / 5);
  g_assert_cmpint (counts[2], >, counts[1]);
  g_assert_cmpint (counts[3], >, counts[1]);
  g_assert_cmpint (counts[4], >, counts[3] / 4);

  for (guint f = 0; f < G_N_ELEMENTS (expected_fields); f++)
    {
      OGRFeatureDefnH defn = OGR_L_GetLayerDefn (get_layer (ds, expected_fields[f].layer));
      int index = OGR_FD_GetFieldIndex (defn, expected_fields[f].field);

      g_assert_cmpint (index, >=, 0);
      g_assert_cmpint (OGR_Fld_GetType (OGR_FD_GetFieldDefn (defn, index)), ==,
                       expected_fields[f].type);
    }
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
test_parcel_geometry (void)
{
  g_auto(GDALDatasetH) ds = open_city (demo_city ());
  OGRLayerH layer = get_layer (ds, "parcels");
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int f_area = OGR_FD_GetFieldIndex (defn, "dien_tich");
  int f_use = OGR_FD_GetFieldIndex (defn, "muc_dich");
  g_autoptr(GArray) odt = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cln = g_array_new (FALSE, FALSE, sizeof (double));
  OGREnvelope extent;
  OGRFeatureH feature;
  guint n = 0, n_typical = 0;

  while ((feature = OGR_L_GetNextFeature (layer)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      OGRGeometryH multi = OGR_F_GetGeometryRef (f);
      OGRGeometryH polygon, ring;
      double area;
      const char *use = OGR_F_GetFieldAsString (f, f_use);
      int n_points;

      g_assert_nonnull (multi);
      g_assert_cmpint (wkbFlatten (OGR_G_GetGeometryType (multi)), ==, wkbMultiPolygon);
      g_assert_cmpint (OGR_G_GetGeometryCount (multi), ==, 1);
      polygon = OGR_G_GetGeometryRef (multi, 0);
      g_assert_cmpint (OGR_G_GetGeometryCount (polygon), ==, 1);  /* no holes */
      ring = OGR_G_GetGeometryRef (polygon, 0);
      n_points = OGR_G_GetPointCount (ring);
      /* 4 to 8 vertices, closed */
      g_assert_cmpint (n_points, >=, 5);
      g_assert_cmpint (n_points, <=, 9);
      g_assert_cmpfloat (OGR_G_GetX (ring, 0), ==, OGR_G_GetX (ring, n_points - 1));
      g_assert_cmpfloat (OGR_G_GetY (ring, 0), ==, OGR_G_GetY (ring, n_points - 1));
      for (int v = 0; v < n_points; v++)
        {
          double x = OGR_G_GetX (ring, v), y = OGR_G_GetY (ring, v);

          /* survey coordinates to the centimetre */
          g_assert_cmpfloat_with_epsilon (x * 100.0, round (x * 100.0), 1e-4);
          g_assert_cmpfloat_with_epsilon (y * 100.0, round (y * 100.0), 1e-4);
        }
      g_assert_true (OGR_G_IsValid (multi));

      area = OGR_G_Area (multi);
      g_assert_cmpfloat (area, >, 0.0);
      g_assert_cmpfloat_with_epsilon (OGR_F_GetFieldAsDouble (f, f_area), area, 0.05 + 1e-6);
      if (strcmp (use, "ODT") == 0)
        {
          g_array_append_val (odt, area);
          if (area >= 80.0 && area <= 600.0)
            n_typical++;
        }
      else if (strcmp (use, "CLN") == 0)
        g_array_append_val (cln, area);
      n++;
    }
  g_assert_cmpuint (n, ==, DEMO_PARCELS);

  /* urban house lots mostly 80–600 m², perennial-crop land larger */
  g_assert_cmpuint (odt->len, >, n / 3);
  g_assert_cmpuint (n_typical, >=, odt->len * 9 / 10);
  g_assert_cmpuint (cln->len, >, 0);
  qsort (odt->data, odt->len, sizeof (double), compare_doubles);
  qsort (cln->data, cln->len, sizeof (double), compare_doubles);
  g_test_message ("median areas: ODT %.1f m², CLN %.1f m²",
                  g_array_index (odt, double, odt->len / 2),
                  g_array_index (cln, double, cln->len / 2));
  g_assert_cmpfloat (g_array_index (cln, double, cln->len / 2), >,
                     2.0 * g_array_index (odt, double, odt->len / 2));

  /* around the centre of Buôn Ma Thuột, E 457 900, N 1 403 300 */
  g_assert_cmpint (OGR_L_GetExtent (layer, &extent, TRUE), ==, OGRERR_NONE);
  g_assert_cmpfloat (extent.MinX, <, 457900.0);
  g_assert_cmpfloat (extent.MaxX, >, 457900.0);
  g_assert_cmpfloat (extent.MinY, <, 1403300.0);
  g_assert_cmpfloat (extent.MaxY, >, 1403300.0);
  g_assert_cmpfloat (extent.MaxX - extent.MinX, <, 10000.0);
  g_assert_cmpfloat (extent.MaxY - extent.MinY, <, 10000.0);
}

/* The real ViLIS parcels of central Buôn Ma Thuột fall inside the demo
 * city: same zone, same place. */
static void
test_covers_real_parcels (void)
{
  g_autofree char *gml = dothi_test_shared_path ("vilis-cadastral-bmt/Thua_Dat.gml");
  const char *open_options[] = { "WRITE_GFS=NO", NULL };
  g_auto(GDALDatasetH) real = NULL;
  g_auto(GDALDatasetH) ds = NULL;
  OGREnvelope real_extent, extent;

  if (gml == NULL)
    return;
  real = GDALOpenEx (gml, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, open_options, NULL);
  g_assert_nonnull (real);
  g_assert_cmpint (OGR_L_GetExtent (GDALDatasetGetLayer (real, 0), &real_extent, TRUE),
                   ==, OGRERR_NONE);
  ds = open_city (demo_city ());
  g_assert_cmpint (OGR_L_GetExtent (get_layer (ds, "parcels"), &extent, TRUE), ==, OGRERR_NONE);
  g_assert_cmpfloat (extent.MinX, <, real_extent.MinX);
  g_assert_cmpfloat (extent.MaxX, >, real_extent.MaxX);
  g_assert_cmpfloat (extent.MinY, <, real_extent.MinY);
  g_assert_cmpfloat (extent.MaxY, >, real_extent.MaxY);
}

typedef struct
{
  OGRGeometryH geometry;
  OGREnvelope  env;
} Parcel;

static int
compare_min_x (const void *a,
               const void *b)
{
  const Parcel *p = a, *q = b;

  return (p->env.MinX > q->env.MinX) - (p->env.MinX < q->env.MinX);
}

static void
clear_parcel (gpointer data)
{
  Parcel *p = data;

  OGR_G_DestroyGeometry (p->geometry);
}

/* Area of the surfaces in @g: neighbours meet in lines and points. */
static double
surface_area (OGRGeometryH g)
{
  double area = 0.0;

  switch (wkbFlatten (OGR_G_GetGeometryType (g)))
    {
    case wkbPolygon:
    case wkbMultiPolygon:
      return OGR_G_Area (g);
    case wkbGeometryCollection:
      for (int k = 0; k < OGR_G_GetGeometryCount (g); k++)
        area += surface_area (OGR_G_GetGeometryRef (g, k));
      return area;
    default:
      return 0.0;
    }
}

/* Every pair of parcels whose bounding boxes meet, found by a sweep along
 * x: their common area is nil. */
static void
test_parcels_no_overlap (void)
{
  g_auto(GDALDatasetH) ds = open_city (demo_city ());
  OGRLayerH layer = get_layer (ds, "parcels");
  g_autoptr(GArray) parcels = g_array_new (FALSE, FALSE, sizeof (Parcel));
  OGRFeatureH feature;
  guint n_pairs = 0, n_touching = 0;

  g_array_set_clear_func (parcels, clear_parcel);
  while ((feature = OGR_L_GetNextFeature (layer)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      Parcel p;

      p.geometry = OGR_F_StealGeometry (f);
      OGR_G_GetEnvelope (p.geometry, &p.env);
      g_array_append_val (parcels, p);
    }
  g_assert_cmpuint (parcels->len, ==, DEMO_PARCELS);
  qsort (parcels->data, parcels->len, sizeof (Parcel), compare_min_x);

  for (guint a = 0; a < parcels->len; a++)
    {
      const Parcel *p = &g_array_index (parcels, Parcel, a);

      for (guint b = a + 1; b < parcels->len; b++)
        {
          const Parcel *q = &g_array_index (parcels, Parcel, b);
          g_auto(OGRGeometryH) common = NULL;

          if (q->env.MinX > p->env.MaxX)
            break;
          if (q->env.MinY > p->env.MaxY || q->env.MaxY < p->env.MinY)
            continue;
          n_pairs++;
          if (!OGR_G_Intersects (p->geometry, q->geometry))
            continue;
          n_touching++;
          common = OGR_G_Intersection (p->geometry, q->geometry);
          g_assert_nonnull (common);
          g_assert_cmpfloat (surface_area (common), <, 1e-6);
        }
    }
  g_test_message ("%u pairs of neighbours checked, %u touching", n_pairs, n_touching);
  /* neighbours share boundaries: three or four each in two-row blocks */
  g_assert_cmpuint (n_touching, >, DEMO_PARCELS * 3 / 2);
}

static gboolean
has_non_ascii (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guchar) *s >= 0x80)
      return TRUE;
  return FALSE;
}

static void
assert_nfc (const char *s)
{
  g_autofree char *nfc = g_utf8_normalize (s, -1, G_NORMALIZE_NFC);

  g_assert_true (g_utf8_validate (s, -1, NULL));
  g_assert_cmpstr (s, ==, nfc);
}

static void
test_parcel_attributes (void)
{
  static const char * const uses[] = {
    "ODT", "ONT", "CLN", "LUC", "BHK", "TMD", "DGT", "SKC", "DGD", "DYT",
    "TSC", "CQP", "DKV", NULL,
  };
  static const char * const family_names[] = {
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ",
    "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", NULL,
  };
  g_auto(GDALDatasetH) ds = open_city (demo_city ());
  OGRLayerH layer = get_layer (ds, "parcels");
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int f_so_to = OGR_FD_GetFieldIndex (defn, "so_to");
  int f_so_thua = OGR_FD_GetFieldIndex (defn, "so_thua");
  int f_ma_xa = OGR_FD_GetFieldIndex (defn, "ma_xa");
  int f_owner = OGR_FD_GetFieldIndex (defn, "ten_chu");
  int f_use = OGR_FD_GetFieldIndex (defn, "muc_dich");
  int f_address = OGR_FD_GetFieldIndex (defn, "dia_chi");
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) use_counts = g_hash_table_new (g_str_hash, g_str_equal);
  OGRFeatureH feature;
  guint n = 0, n_family = 0, n_nguyen = 0, n_ward = 0, n_commune = 0;
  guint n_odt = 0, n_max = 0;
  const char *most_common = NULL;
  GHashTableIter iter;
  gpointer key, value;

  while ((feature = OGR_L_GetNextFeature (layer)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      const char *owner = OGR_F_GetFieldAsString (f, f_owner);
      const char *use = OGR_F_GetFieldAsString (f, f_use);
      const char *ma_xa = OGR_F_GetFieldAsString (f, f_ma_xa);
      const char *address = OGR_F_GetFieldAsString (f, f_address);
      g_auto(GStrv) words = g_strsplit (owner, " ", 2);
      char *cadastral_key;

      g_assert_true (in_list (use, uses));
      g_hash_table_insert (use_counts, (gpointer) g_intern_string (use),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (
                             g_hash_table_lookup (use_counts, g_intern_string (use))) + 1));
      if (strcmp (use, "ODT") == 0)
        n_odt++;

      /* ward codes are code-like text of five digits */
      g_assert_cmpuint (strlen (ma_xa), ==, 5);
      for (guint c = 0; c < 5; c++)
        g_assert_true (g_ascii_isdigit (ma_xa[c]));

      g_assert_cmpint (OGR_F_GetFieldAsInteger (f, f_so_to), >=, 1);
      g_assert_cmpint (OGR_F_GetFieldAsInteger (f, f_so_thua), >=, 1);
      /* a parcel is known by ward, sheet and number */
      cadastral_key = g_strdup_printf ("%s/%d/%d", ma_xa,
                                       OGR_F_GetFieldAsInteger (f, f_so_to),
                                       OGR_F_GetFieldAsInteger (f, f_so_thua));
      g_assert_false (g_hash_table_contains (keys, cadastral_key));
      g_hash_table_add (keys, cadastral_key);

      g_assert_cmpuint (strlen (owner), >, 0);
      assert_nfc (owner);
      if (in_list (words[0], family_names))
        n_family++;
      if (g_str_has_prefix (owner, "Nguyễn "))
        n_nguyen++;

      assert_nfc (address);
      g_assert_true (g_str_has_suffix (address, ", tỉnh Đắk Lắk"));
      if (strstr (address, "Phường ") != NULL)
        n_ward++;
      else if (strstr (address, "Xã ") != NULL)
        n_commune++;
      else
        g_assert_not_reached ();
      n++;
    }
  g_assert_cmpuint (n, ==, DEMO_PARCELS);
  /* most owners are households with Kinh family names, Nguyễn the first */
  g_assert_cmpuint (n_family, >, n * 7 / 10);
  g_assert_cmpuint (n_nguyen, >, n / 5);
  /* the city and its rural fringe */
  g_assert_cmpuint (n_ward, >, n / 2);
  g_assert_cmpuint (n_commune, >, 0);
  /* a city: urban residential land comes first */
  g_hash_table_iter_init (&iter, use_counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_test_message ("%s: %u", (const char *) key, GPOINTER_TO_UINT (value));
      if (GPOINTER_TO_UINT (value) > n_max)
        {
          n_max = GPOINTER_TO_UINT (value);
          most_common = key;
        }
    }
  g_assert_cmpstr (most_common, ==, "ODT");
  g_assert_cmpuint (n_odt, >, n / 3);
  g_assert_cmpuint (g_hash_table_size (use_counts), >=, 10);
}

static void
test_zoning_and_roads (void)
{
  static const char * const functions[] = {
    "Đất ở hiện hữu", "Đất ở mới", "Đất thương mại, dịch vụ", "Đất công cộng",
    "Đất cây xanh", "Đất quốc phòng", "Đất công nghiệp", "Đất ở nông thôn",
    "Đất nông nghiệp", NULL,
  };
  static const char * const classes[] = {
    "Đường chính đô thị", "Đường chính khu vực", "Đường nội bộ",
    "Đường giao thông nông thôn", NULL,
  };
  g_auto(GDALDatasetH) ds = open_city (demo_city ());
  OGRLayerH zoning = get_layer (ds, "zoning");
  OGRLayerH roads = get_layer (ds, "roads");
  g_autoptr(GHashTable) codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  OGRFeatureH feature;
  gboolean le_duan = FALSE, accented = FALSE;

  while ((feature = OGR_L_GetNextFeature (zoning)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      const char *code = OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "ma_khu"));

      g_assert_true (in_list (OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "chuc_nang")),
                              functions));
      g_assert_cmpint (OGR_F_GetFieldAsInteger (f, OGR_F_GetFieldIndex (f, "mat_do_xd")), >=, 0);
      g_assert_cmpint (OGR_F_GetFieldAsInteger (f, OGR_F_GetFieldIndex (f, "mat_do_xd")), <=, 100);
      g_assert_cmpint (OGR_F_GetFieldAsInteger (f, OGR_F_GetFieldIndex (f, "tang_cao")), >=, 1);
      g_assert_false (g_hash_table_contains (codes, code));
      g_hash_table_add (codes, g_strdup (code));
      g_assert_true (OGR_G_IsValid (OGR_F_GetGeometryRef (f)));
    }

  while ((feature = OGR_L_GetNextFeature (roads)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      const char *name = OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "ten_duong"));

      assert_nfc (name);
      g_assert_true (in_list (OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "cap")),
                              classes));
      g_assert_cmpfloat (OGR_F_GetFieldAsDouble (f, OGR_F_GetFieldIndex (f, "rong_m")), >=, 6.0);
      g_assert_cmpfloat (OGR_G_Length (OGR_F_GetGeometryRef (f)), >, 50.0);
      if (strcmp (name, "Lê Duẩn") == 0)
        le_duan = TRUE;
      if (has_non_ascii (name))
        accented = TRUE;
    }
  g_assert_true (le_duan);
  g_assert_true (accented);
}

static void
test_networks (void)
{
  static const char * const materials[] = { "Gang dẻo", "HDPE", "PVC", NULL };
  static const char * const valve_kinds[] = {
    "Van chặn", "Van xả", "Van xả khí", "Van giảm áp", NULL,
  };
  static const char * const states[] = { "mở", "đóng", NULL };
  static const char * const sensor_kinds[] = {
    "Áp lực nước", "Mực nước", "Chất lượng không khí", "Ngập úng", NULL,
  };
  g_auto(GDALDatasetH) ds = open_city (demo_city ());
  OGRLayerH mains = get_layer (ds, "water_mains");
  OGRLayerH valves = get_layer (ds, "water_valves");
  OGRLayerH power = get_layer (ds, "power_lines");
  OGRLayerH sensors = get_layer (ds, "sensor_stations");
  /* main vertex -> diameter */
  g_autoptr(GHashTable) vertices = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                          g_free, NULL);
  g_autoptr(GHashTable) sensor_seen = g_hash_table_new (g_str_hash, g_str_equal);
  OGRFeatureH feature;
  guint n_valves = 0, n_closed = 0, n_22 = 0, n_04 = 0, n_110 = 0;

  while ((feature = OGR_L_GetNextFeature (mains)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      OGRGeometryH line = OGR_G_GetGeometryRef (OGR_F_GetGeometryRef (f), 0);
      int diameter = OGR_F_GetFieldAsInteger (f, OGR_F_GetFieldIndex (f, "duong_kinh_mm"));
      int year = OGR_F_GetFieldAsInteger (f, OGR_F_GetFieldIndex (f, "nam_lap"));

      g_assert_cmpint (diameter, >=, 100);
      g_assert_cmpint (diameter, <=, 600);
      g_assert_cmpint (diameter % 50, ==, 0);
      g_assert_cmpint (year, >=, 1990);
      g_assert_cmpint (year, <=, 2025);
      g_assert_true (in_list (OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "vat_lieu")),
                              materials));
      for (int v = 0; v < OGR_G_GetPointCount (line); v++)
        {
          gint64 *k = g_new (gint64, 1);

          *k = vertex_key (OGR_G_GetX (line, v), OGR_G_GetY (line, v));
          g_hash_table_insert (vertices, k, GINT_TO_POINTER (diameter));
        }
    }

  /* valves sit on a vertex of a main and share its diameter */
  while ((feature = OGR_L_GetNextFeature (valves)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      OGRGeometryH point = OGR_G_GetGeometryRef (OGR_F_GetGeometryRef (f), 0);
      gint64 k = vertex_key (OGR_G_GetX (point, 0), OGR_G_GetY (point, 0));
      const char *state = OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "trang_thai"));

      g_assert_true (g_hash_table_contains (vertices, &k));
      g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (vertices, &k)), ==,
                       OGR_F_GetFieldAsInteger (f, OGR_F_GetFieldIndex (f, "duong_kinh_mm")));
      g_assert_true (in_list (OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "loai")),
                              valve_kinds));
      g_assert_true (in_list (state, states));
      if (strcmp (state, "đóng") == 0)
        n_closed++;
      n_valves++;
    }
  g_assert_cmpuint (n_closed, >, 0);
  g_assert_cmpuint (n_closed, <, n_valves / 2);

  while ((feature = OGR_L_GetNextFeature (power)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      double kv = OGR_F_GetFieldAsDouble (f, OGR_F_GetFieldIndex (f, "cap_dien_ap_kv"));

      if (kv == 22.0)
        n_22++;
      else if (kv == 0.4)
        n_04++;
      else if (kv == 110.0)
        n_110++;
      else
        g_assert_not_reached ();
      assert_nfc (OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "ten")));
    }
  g_assert_cmpuint (n_22, >, 0);
  g_assert_cmpuint (n_04, >, 0);
  g_assert_cmpuint (n_110, >, 0);

  while ((feature = OGR_L_GetNextFeature (sensors)) != NULL)
    {
      g_auto(OGRFeatureH) f = feature;
      const char *kind = OGR_F_GetFieldAsString (f, OGR_F_GetFieldIndex (f, "loai"));
      OGRGeometryH point = OGR_G_GetGeometryRef (OGR_F_GetGeometryRef (f), 0);

      g_assert_true (in_list (kind, sensor_kinds));
      g_hash_table_add (sensor_seen, (gpointer) g_intern_string (kind));
      /* pressure is measured on the mains */
      if (strcmp (kind, "Áp lực nước") == 0)
        {
          gint64 k = vertex_key (OGR_G_GetX (point, 0), OGR_G_GetY (point, 0));

          g_assert_true (g_hash_table_contains (vertices, &k));
        }
    }
  g_assert_cmpuint (g_hash_table_size (sensor_seen), ==, g_strv_length ((GStrv) sensor_kinds));
}

/* SHA-256 of every feature of every layer as GDAL reads it back: fids,
 * field values and geometry WKB. */
static char *
digest_city (const char *path)
{
  g_auto(GDALDatasetH) ds = open_city (path);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *wkb = NULL;
  gsize wkb_size = 0;

  for (guint t = 0; t < G_N_ELEMENTS (expected_layers); t++)
    {
      OGRLayerH layer = get_layer (ds, expected_layers[t].name);
      OGRFeatureH feature;

      g_checksum_update (sum, (const guchar *) expected_layers[t].name, -1);
      while ((feature = OGR_L_GetNextFeature (layer)) != NULL)
        {
          g_auto(OGRFeatureH) f = feature;
          OGRGeometryH geometry = OGR_F_GetGeometryRef (f);
          gint64 fid = OGR_F_GetFID (f);
          gsize size;

          g_checksum_update (sum, (const guchar *) &fid, sizeof fid);
          for (int i = 0; i < OGR_F_GetFieldCount (f); i++)
            {
              g_checksum_update (sum, (const guchar *) OGR_F_GetFieldAsString (f, i), -1);
              g_checksum_update (sum, (const guchar *) "|", 1);
            }
          size = OGR_G_WkbSize (geometry);
          if (size > wkb_size)
            {
              wkb_size = size;
              wkb = g_realloc (wkb, wkb_size);
            }
          g_assert_cmpint (OGR_G_ExportToWkb (geometry, wkbNDR, wkb), ==, OGRERR_NONE);
          g_checksum_update (sum, wkb, size);
        }
    }
  return g_strdup (g_checksum_get_string (sum));
}

static void
test_deterministic (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *again = g_build_filename (dir, "again.gpkg", NULL);
  g_autofree char *other = g_build_filename (dir, "other.gpkg", NULL);
  g_autofree char *first_digest = NULL, *again_digest = NULL, *other_digest = NULL;
  g_autoptr(GError) error = NULL;

  dothi_demo_city_write (again, DEMO_PARCELS, DEMO_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dothi_demo_city_write (other, DEMO_PARCELS, DEMO_SEED + 1, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  first_digest = digest_city (demo_city ());
  again_digest = digest_city (again);
  other_digest = digest_city (other);
  g_test_message ("digest %s", first_digest);
  g_assert_cmpstr (first_digest, ==, again_digest);
  g_assert_cmpstr (first_digest, !=, other_digest);

  dothi_test_rmdir (dir);
}

static guint
count_parcels (const char *path)
{
  g_auto(GDALDatasetH) ds = open_city (path);

  return (guint) OGR_L_GetFeatureCount (get_layer (ds, "parcels"), TRUE);
}

static void
test_small (void)
{
  static const guint sizes[] = { 1, 2, 37, 500 };
  g_autofree char *dir = dothi_test_mkdtemp ();

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autofree char *name = g_strdup_printf ("city-%u.gpkg", sizes[s]);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr(GError) error = NULL;
      g_auto(GDALDatasetH) ds = NULL;

      dothi_demo_city_write (path, sizes[s], 7, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (count_parcels (path), ==, sizes[s]);
      ds = open_city (path);
      g_assert_cmpint (OGR_L_GetFeatureCount (get_layer (ds, "zoning"), TRUE), >=, 1);
      g_assert_cmpint (OGR_L_GetFeatureCount (get_layer (ds, "roads"), TRUE), >=, 4);
    }
  dothi_test_rmdir (dir);
}

static void
test_exists (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "taken.gpkg", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, "not a city", -1, &error);
  g_assert_no_error (error);

  g_assert_false (dothi_demo_city_write (path, 100, 1, NULL, NULL, NULL, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "taken.gpkg"));
  g_clear_error (&error);

  /* untouched */
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "not a city");
  dothi_test_rmdir (dir);
}

typedef struct
{
  GCancellable *cancellable;
  double        cancel_after;   /* cancel at the first report past this */
  double        cancelled_at;
  char         *cancelled_stage;
  guint         n_reports;
  guint         n_after_cancel;
} CancelData;

static void
cancel_progress_cb (double      fraction,
                    const char *stage,
                    gpointer    user_data)
{
  CancelData *data = user_data;

  data->n_reports++;
  if (g_cancellable_is_cancelled (data->cancellable))
    data->n_after_cancel++;
  else if (fraction > data->cancel_after)
    {
      data->cancelled_at = fraction;
      data->cancelled_stage = g_strdup (stage);
      g_cancellable_cancel (data->cancellable);
    }
}

static void
assert_no_trace (const char *path)
{
  static const char * const suffixes[] = { "", "-journal", "-wal", "-shm" };

  for (guint k = 0; k < G_N_ELEMENTS (suffixes); k++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[k], NULL);

      g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
    }
}

static void
run_cancelled (double cancel_after)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "cancelled.gpkg", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CancelData data = { cancellable, cancel_after, 0.0, NULL, 0, 0 };

  g_assert_false (dothi_demo_city_write (path, 100000, 3, cancel_progress_cb, &data,
                                         cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_nonnull (strstr (error->message, "cancelled.gpkg"));
  g_test_message ("cancelled at %.3f, %s", data.cancelled_at, data.cancelled_stage);
  g_free (data.cancelled_stage);
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  g_assert_cmpuint (data.n_after_cancel, ==, 0);
  assert_no_trace (path);
  dothi_test_rmdir (dir);
}

static void
test_cancel_before (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "never.gpkg", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  g_assert_false (dothi_demo_city_write (path, 1000, 1, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_no_trace (path);
  dothi_test_rmdir (dir);
}

/* while the parcels are written */
static void
test_cancel_writing (void)
{
  run_cancelled (0.0);
}

/* after the data is committed, while the indexes are built */
static void
test_cancel_indexing (void)
{
  run_cancelled (0.5);
}

typedef struct
{
  GArray   *fractions;
  gboolean  stages_ok;
  GThread  *thread;
  gboolean  other_thread;
  gboolean  done;
  gboolean  after_done;
  GError   *error;
} ProgressData;

static void
record_progress_cb (double      fraction,
                    const char *stage,
                    gpointer    user_data)
{
  ProgressData *data = user_data;

  g_array_append_val (data->fractions, fraction);
  if (stage == NULL || stage[0] == '\0')
    data->stages_ok = FALSE;
  if (g_thread_self () != data->thread)
    data->other_thread = TRUE;
  if (data->done)
    data->after_done = TRUE;
}

static void
assert_progress (const ProgressData *data)
{
  GArray *f = data->fractions;

  g_assert_true (data->stages_ok);
  g_assert_false (data->other_thread);
  g_assert_cmpuint (f->len, >=, 2);
  g_assert_cmpfloat (g_array_index (f, double, 0), ==, 0.0);
  g_assert_cmpfloat (g_array_index (f, double, f->len - 1), ==, 1.0);
  for (guint k = 1; k < f->len; k++)
    {
      g_assert_cmpfloat (g_array_index (f, double, k), >=, g_array_index (f, double, k - 1));
      g_assert_cmpfloat (g_array_index (f, double, k), <=, 1.0);
    }
}

static void
test_progress (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "progress.gpkg", NULL);
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  ProgressData data = { fractions, TRUE, g_thread_self (), FALSE, FALSE, FALSE, NULL };

  g_assert_true (dothi_demo_city_write (path, 2000, 5, record_progress_cb, &data,
                                        NULL, &error));
  g_assert_no_error (error);
  assert_progress (&data);
  dothi_test_rmdir (dir);
}

static void
write_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ProgressData *data = user_data;

  g_assert_null (source);
  if (g_thread_self () != data->thread)
    data->other_thread = TRUE;
  dothi_demo_city_write_finish (result, &data->error);
  data->done = TRUE;
}

static void
test_async (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "async.gpkg", NULL);
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  ProgressData data = { fractions, TRUE, g_thread_self (), FALSE, FALSE, FALSE, NULL };

  dothi_demo_city_write_async (path, 3000, 9, NULL, record_progress_cb, &data,
                               write_done_cb, &data);
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  /* let any straggling report run: there must be none */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_no_error (data.error);
  g_assert_false (data.after_done);
  assert_progress (&data);
  g_assert_cmpuint (count_parcels (path), ==, 3000);
  dothi_test_rmdir (dir);
}

static void
test_async_cancel (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "async.gpkg", NULL);
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  ProgressData data = { fractions, TRUE, g_thread_self (), FALSE, FALSE, FALSE, NULL };

  dothi_demo_city_write_async (path, 100000, 9, cancellable, NULL, NULL,
                               write_done_cb, &data);
  g_cancellable_cancel (cancellable);
  while (!data.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&data.error);
  assert_no_trace (path);
  dothi_test_rmdir (dir);
}

/* For information: the time is printed, never asserted. */
static void
test_100k (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "city-100k.gpkg", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  GStatBuf st;

  dothi_demo_city_write (path, 100000, DEMO_SEED, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_timer_stop (timer);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_test_message ("100 000 parcels written in %.2f s, %.1f MB",
                  g_timer_elapsed (timer, NULL), st.st_size / 1e6);
  g_assert_cmpuint (count_parcels (path), ==, 100000);
  dothi_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int status;

  dothi_test_init (&argc, &argv);

  g_test_add_func ("/demo-city/layers", test_layers);
  g_test_add_func ("/demo-city/parcels/geometry", test_parcel_geometry);
  g_test_add_func ("/demo-city/parcels/no-overlap", test_parcels_no_overlap);
  g_test_add_func ("/demo-city/parcels/attributes", test_parcel_attributes);
  g_test_add_func ("/demo-city/parcels/covers-real-parcels", test_covers_real_parcels);
  g_test_add_func ("/demo-city/zoning-and-roads", test_zoning_and_roads);
  g_test_add_func ("/demo-city/networks", test_networks);
  g_test_add_func ("/demo-city/deterministic", test_deterministic);
  g_test_add_func ("/demo-city/small", test_small);
  g_test_add_func ("/demo-city/exists", test_exists);
  g_test_add_func ("/demo-city/cancel/before", test_cancel_before);
  g_test_add_func ("/demo-city/cancel/writing", test_cancel_writing);
  g_test_add_func ("/demo-city/cancel/indexing", test_cancel_indexing);
  g_test_add_func ("/demo-city/progress", test_progress);
  g_test_add_func ("/demo-city/async", test_async);
  g_test_add_func ("/demo-city/async/cancel", test_async_cancel);
  g_test_add_func ("/demo-city/100k", test_100k);

  status = g_test_run ();

  dothi_test_rmdir (shared_dir);
  g_free (shared_dir);
  g_free (shared_city);
  return status;
}
