/* test-layer-info.c: the layer vocabulary (slugs, kinds, field types, the
 * registry struct) and the ISO WKB <-> SpatiaLite blob converter, checked
 * against SpatiaLite's own GeomFromWKB. */
#include "config.h"

#include "dothi-autocleanups.h"
#include "dothi-layer-info.h"
#include "dothi-spatialite-blob.h"
#include "test-util.h"

#include <ogr_api.h>
#include <spatialite.h>
#include <sqlite3.h>
#include <string.h>

/* ---- slugs ------------------------------------------------------------- */

static void
assert_slug (const char *text, const char *expected)
{
  g_autofree char *slug = dothi_slugify (text);

  g_assert_cmpstr (slug, ==, expected);
}

static void
test_slugify (void)
{
  assert_slug ("Thửa đất", "thua_dat");
  assert_slug ("Đường ống", "duong_ong");
  assert_slug ("ĐƯỜNG ỐNG CẤP NƯỚC", "duong_ong_cap_nuoc");
  assert_slug ("Thua_Dat", "thua_dat");
  assert_slug ("  Trạm bơm / Van  ", "tram_bom_van");
  assert_slug ("2025 ranh giới", "l_2025_ranh_gioi");
  assert_slug ("9", "l_9");
  assert_slug ("", "layer");
  assert_slug ("“…”", "layer");
  assert_slug (NULL, "layer");
  /* Combining tone marks (CP1258 style) fold the same as precomposed. */
  assert_slug ("Tha\xcc\x89 \xc4\x91\xc3\xa2\xcc\x81t", "tha_dat");
  assert_slug ("Đạ Tông", "da_tong");
  assert_slug ("Đa\xcc\xa3 Tông", "da_tong");
}

static void
test_slugify_is_ascii_slug (void)
{
  const char *inputs[] = {
    "Bà Rịa – Vũng Tàu", "Thừa Thiên Huế", "B'Lao", "Xuân Hương - Đà Lạt",
    "ky4_pipes.geojson", "Ống D300", "0001", "_", "ăâêôơưđ", NULL,
  };

  for (guint i = 0; inputs[i] != NULL; i++)
    {
      g_autofree char *slug = dothi_slugify (inputs[i]);

      g_assert_cmpuint (strlen (slug), >, 0);
      g_assert_false (g_ascii_isdigit (slug[0]));
      for (const char *p = slug; *p; p++)
        g_assert_true (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_');
    }
}

/* ---- kinds and field types --------------------------------------------- */

static void
test_kind_strings (void)
{
  const DothiGeometryKind kinds[] = {
    DOTHI_GEOMETRY_KIND_NONE, DOTHI_GEOMETRY_KIND_MULTIPOINT,
    DOTHI_GEOMETRY_KIND_MULTILINESTRING, DOTHI_GEOMETRY_KIND_MULTIPOLYGON,
    DOTHI_GEOMETRY_KIND_GEOMETRY,
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      const char *s = dothi_geometry_kind_to_string (kinds[i]);
      g_autofree char *lower = g_ascii_strdown (s, -1);

      g_assert_cmpint (dothi_geometry_kind_from_string (s), ==, kinds[i]);
      g_assert_cmpint (dothi_geometry_kind_from_string (lower), ==, kinds[i]);
      g_assert_nonnull (dothi_geometry_kind_to_label (kinds[i]));
    }
  g_assert_cmpstr (dothi_geometry_kind_to_string (DOTHI_GEOMETRY_KIND_MULTIPOLYGON), ==, "MULTIPOLYGON");
  g_assert_cmpstr (dothi_geometry_kind_to_string (DOTHI_GEOMETRY_KIND_GEOMETRY), ==, "GEOMETRY");
  g_assert_cmpint (dothi_geometry_kind_from_string ("CIRCULARSTRING"), ==, DOTHI_GEOMETRY_KIND_NONE);
  g_assert_cmpint (dothi_geometry_kind_from_string (NULL), ==, DOTHI_GEOMETRY_KIND_NONE);
}

static void
test_field_type_strings (void)
{
  const DothiFieldType types[] = {
    DOTHI_FIELD_TEXT, DOTHI_FIELD_INTEGER, DOTHI_FIELD_REAL, DOTHI_FIELD_DATE,
    DOTHI_FIELD_DATETIME, DOTHI_FIELD_BOOLEAN, DOTHI_FIELD_BLOB,
  };
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      const char *s = dothi_field_type_to_string (types[i]);
      g_autofree char *upper = g_ascii_strup (s, -1);

      g_assert_cmpint (dothi_field_type_from_string (s), ==, types[i]);
      g_assert_cmpint (dothi_field_type_from_string (upper), ==, types[i]);
      g_assert_nonnull (dothi_field_type_to_sql (types[i]));
      /* Each type has its own name. */
      g_assert_false (g_hash_table_contains (seen, s));
      g_hash_table_add (seen, (gpointer) s);
    }
  g_assert_cmpstr (dothi_field_type_to_sql (DOTHI_FIELD_INTEGER), ==, "INTEGER");
  g_assert_cmpstr (dothi_field_type_to_sql (DOTHI_FIELD_TEXT), ==, "TEXT");
  g_assert_cmpint (dothi_field_type_from_string ("no such type"), ==, DOTHI_FIELD_TEXT);
  g_assert_cmpint (dothi_field_type_from_string (NULL), ==, DOTHI_FIELD_TEXT);
}

/* ---- DothiLayerInfo ---------------------------------------------------- */

static DothiLayerInfo *
make_info (void)
{
  DothiLayerInfo *info = dothi_layer_info_new ();

  info->name = g_strdup ("thua_dat");
  info->title = g_strdup ("Thửa đất phường Tân Lập");
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->has_z = TRUE;
  info->has_m = FALSE;
  info->srid = 9218;
  info->source = g_strdup ("/data/Thua_Dat.gml");
  info->driver = g_strdup ("GML");
  info->encoding = g_strdup ("TCVN3");
  info->operation = g_strdup ("Inverse of VN-2000 to WGS 84");
  info->imported_at = g_strdup ("2025-07-01T00:00:00Z");
  info->feature_count = 129;
  info->extent[0] = 457970.55;
  info->extent[1] = 1403122.20;
  info->extent[2] = 458371.61;
  info->extent[3] = 1403475.65;
  info->z_order = 3;
  info->visible = FALSE;
  dothi_layer_info_add_field (info, "soHieuToBanDo", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "dienTich", DOTHI_FIELD_REAL);
  dothi_layer_info_add_field (info, "Chủ sử dụng", DOTHI_FIELD_TEXT);
  return info;
}

static void
test_info_new (void)
{
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();

  g_assert_nonnull (info->fields);
  g_assert_cmpuint (info->fields->len, ==, 0);
  g_assert_true (info->visible);
  g_assert_null (info->name);
  g_assert_cmpint (dothi_layer_info_find_field (info, "x"), ==, -1);
}

static void
test_info_copy (void)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(DothiLayerInfo) copy = dothi_layer_info_copy (info);

  g_assert_true (copy != info);
  g_assert_cmpstr (copy->name, ==, "thua_dat");
  g_assert_cmpstr (copy->title, ==, "Thửa đất phường Tân Lập");
  g_assert_true (copy->title != info->title);
  g_assert_cmpint (copy->kind, ==, DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
  g_assert_true (copy->has_z);
  g_assert_false (copy->has_m);
  g_assert_cmpint (copy->srid, ==, 9218);
  g_assert_cmpstr (copy->source, ==, info->source);
  g_assert_cmpstr (copy->driver, ==, "GML");
  g_assert_cmpstr (copy->encoding, ==, "TCVN3");
  g_assert_cmpstr (copy->operation, ==, info->operation);
  g_assert_cmpstr (copy->imported_at, ==, info->imported_at);
  g_assert_cmpint (copy->feature_count, ==, 129);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (copy->extent[i], info->extent[i], 0.01);
  g_assert_cmpint (copy->z_order, ==, 3);
  g_assert_false (copy->visible);
  g_assert_cmpuint (copy->fields->len, ==, 3);
  g_assert_true (copy->fields != info->fields);
  for (guint i = 0; i < 3; i++)
    {
      const DothiField *a = g_ptr_array_index (info->fields, i);
      const DothiField *b = g_ptr_array_index (copy->fields, i);

      g_assert_true (a != b);
      g_assert_cmpstr (a->name, ==, b->name);
      g_assert_cmpint (a->type, ==, b->type);
    }

  /* The copy owns its memory: freeing the original leaves it intact. */
  g_clear_pointer (&info, dothi_layer_info_free);
  g_assert_cmpstr (((DothiField *) g_ptr_array_index (copy->fields, 2))->name, ==, "Chủ sử dụng");

  /* The boxed type copies the same way. */
  {
    DothiLayerInfo *boxed = g_boxed_copy (DOTHI_TYPE_LAYER_INFO, copy);
    g_assert_cmpstr (boxed->title, ==, copy->title);
    g_boxed_free (DOTHI_TYPE_LAYER_INFO, boxed);
  }
  dothi_layer_info_free (NULL);
  dothi_field_free (NULL);
}

static void
test_info_find_field (void)
{
  g_autoptr(DothiLayerInfo) info = make_info ();

  g_assert_cmpint (dothi_layer_info_find_field (info, "soHieuToBanDo"), ==, 0);
  g_assert_cmpint (dothi_layer_info_find_field (info, "SOHIEUTOBANDO"), ==, 0);
  g_assert_cmpint (dothi_layer_info_find_field (info, "diENtich"), ==, 1);
  g_assert_cmpint (dothi_layer_info_find_field (info, "Chủ sử dụng"), ==, 2);
  g_assert_cmpint (dothi_layer_info_find_field (info, "dienTic"), ==, -1);
  g_assert_cmpint (dothi_layer_info_find_field (info, "fid"), ==, -1);
}

/* ---- SpatiaLite blobs -------------------------------------------------- */

static const char *blob_wkts[] = {
  "POINT (457970.55 1403122.2)",
  "MULTIPOINT ((458289.01 1403384.29),(458288.468 1403384.149))",
  "LINESTRING (0 0,1 1,2 0)",
  "POLYGON ((0 0,10 0,10 10,0 10,0 0))",
  "MULTILINESTRING ((0 0,1 1),(2 2,3 3,4 2))",
  "MULTIPOLYGON (((0 0,10 0,10 10,0 10,0 0),(2 2,2 4,4 4,4 2,2 2),(6 6,6 8,8 8,8 6,6 6)),"
  "((20 20,30 20,30 30,20 20)))",
  "POINT Z (1 2 3)",
  "MULTILINESTRING Z ((0 0 1,1 1 2),(5 5 5,6 6 6))",
  "MULTIPOLYGON Z (((0 0 1,10 0 2,10 10 3,0 0 1),(2 1 0,3 1 0,3 2 0,2 1 0)))",
  "POINT M (1 2 4)",
  "MULTIPOINT M ((1 2 4),(3 4 5))",
  "LINESTRING M (0 0 0,1 1 1)",
  "POINT ZM (1 2 3 4)",
  "MULTIPOLYGON ZM (((0 0 1 1,10 0 2 2,10 10 3 3,0 0 1 1)))",
  "GEOMETRYCOLLECTION (POINT (1 2),LINESTRING (0 0,1 1),POLYGON ((0 0,1 0,1 1,0 0)))",
  "GEOMETRYCOLLECTION Z (POINT Z (1 2 3),LINESTRING Z (0 0 0,1 1 1))",
  NULL,
};

/* Little-endian ISO WKB of @wkt. */
static GBytes *
iso_wkb (const char *wkt, OGRwkbByteOrder order)
{
  g_auto(OGRGeometryH) geom = NULL;
  char *text = (char *) wkt;
  guint8 *buf;
  int size;

  g_assert_cmpint (OGR_G_CreateFromWkt (&text, NULL, &geom), ==, OGRERR_NONE);
  size = OGR_G_WkbSize (geom);
  buf = g_malloc (size);
  g_assert_cmpint (OGR_G_ExportToIsoWkb (geom, order, buf), ==, OGRERR_NONE);
  return g_bytes_new_take (buf, size);
}

static void
assert_bytes_equal (const guint8 *a, gsize a_len, const guint8 *b, gsize b_len, const char *what)
{
  if (a_len != b_len || memcmp (a, b, a_len) != 0)
    {
      g_autofree char *ha = g_compute_checksum_for_data (G_CHECKSUM_MD5, a, a_len);
      g_autofree char *hb = g_compute_checksum_for_data (G_CHECKSUM_MD5, b, b_len);
      g_test_message ("%s: %" G_GSIZE_FORMAT " bytes (%s) vs %" G_GSIZE_FORMAT " bytes (%s)",
                      what, a_len, ha, b_len, hb);
    }
  g_assert_cmpmem (a, a_len, b, b_len);
}

static void
test_blob_round_trip (void)
{
  for (guint i = 0; blob_wkts[i] != NULL; i++)
    {
      g_autoptr(GBytes) wkb = iso_wkb (blob_wkts[i], wkbNDR);
      g_autoptr(GByteArray) blob = g_byte_array_new ();
      g_autoptr(GByteArray) back = g_byte_array_new ();
      gsize len;
      const guint8 *data = g_bytes_get_data (wkb, &len);
      int srid = 0;

      g_test_message ("%s", blob_wkts[i]);
      g_assert_true (dothi_blob_from_wkb (data, len, 9218, blob, NULL));
      g_assert_cmpuint (blob->len, >=, 44);
      g_assert_cmpuint (blob->data[0], ==, 0x00);
      g_assert_cmpuint (blob->data[1], ==, 0x01);
      g_assert_cmpuint (blob->data[38], ==, 0x7c);
      g_assert_cmpuint (blob->data[blob->len - 1], ==, 0xfe);
      g_assert_true (dothi_blob_to_wkb (blob->data, blob->len, back, &srid));
      g_assert_cmpint (srid, ==, 9218);
      assert_bytes_equal (back->data, back->len, data, len, blob_wkts[i]);
    }
}

static void
test_blob_big_endian (void)
{
  for (guint i = 0; blob_wkts[i] != NULL; i++)
    {
      g_autoptr(GBytes) le = iso_wkb (blob_wkts[i], wkbNDR);
      g_autoptr(GBytes) be = iso_wkb (blob_wkts[i], wkbXDR);
      g_autoptr(GByteArray) blob_le = g_byte_array_new ();
      g_autoptr(GByteArray) blob_be = g_byte_array_new ();
      gsize le_len, be_len;
      const guint8 *le_data = g_bytes_get_data (le, &le_len);
      const guint8 *be_data = g_bytes_get_data (be, &be_len);

      g_assert_true (dothi_blob_from_wkb (le_data, le_len, 4326, blob_le, NULL));
      g_assert_true (dothi_blob_from_wkb (be_data, be_len, 4326, blob_be, NULL));
      assert_bytes_equal (blob_be->data, blob_be->len, blob_le->data, blob_le->len, blob_wkts[i]);
    }
}

static void
test_blob_mbr (void)
{
  g_autoptr(GBytes) wkb = iso_wkb ("MULTIPOLYGON (((458289.01 1403384.29,458314.2 1403390.81,"
                                   "458303.439 1403423.662,458275.795 1403416.405,458289.01 1403384.29)),"
                                   "((457970.55 1403122.2,457980 1403122.2,457980 1403130,457970.55 1403122.2)))",
                                   wkbNDR);
  g_autoptr(GByteArray) blob = g_byte_array_new ();
  double mbr[4];
  gsize len;
  const guint8 *data = g_bytes_get_data (wkb, &len);

  g_assert_true (dothi_blob_from_wkb (data, len, 9218, blob, mbr));
  g_assert_cmpfloat_with_epsilon (mbr[0], 457970.55, 0.01);
  g_assert_cmpfloat_with_epsilon (mbr[1], 1403122.2, 0.01);
  g_assert_cmpfloat_with_epsilon (mbr[2], 458314.2, 0.01);
  g_assert_cmpfloat_with_epsilon (mbr[3], 1403423.662, 0.01);
  /* The same MBR sits in the blob header, little-endian. */
  for (int i = 0; i < 4; i++)
    {
      guint64 stored, want;

      memcpy (&stored, blob->data + 6 + 8 * i, 8);
      memcpy (&want, &mbr[i], 8);
      g_assert_cmphex (GUINT64_FROM_LE (stored), ==, want);
    }
}

/* A :memory: database with SpatiaLite, set up the way the core does it. */
typedef struct {
  sqlite3 *db;
  void    *cache;
} SpatialiteDb;

static void
spatialite_db_open (SpatialiteDb *s)
{
  g_assert_cmpint (sqlite3_open_v2 (":memory:", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   ==, SQLITE_OK);
  s->cache = spatialite_alloc_connection ();
  spatialite_init_ex (s->db, s->cache, 0);
}

static void
spatialite_db_close (SpatialiteDb *s)
{
  sqlite3_close (s->db);
  spatialite_cleanup_ex (s->cache);
}

static void
test_blob_matches_spatialite (void)
{
  SpatialiteDb s;

  spatialite_db_open (&s);
  for (guint i = 0; blob_wkts[i] != NULL; i++)
    {
      g_autoptr(GBytes) wkb = iso_wkb (blob_wkts[i], wkbNDR);
      g_autoptr(GByteArray) ours = g_byte_array_new ();
      g_autoptr(GByteArray) back = g_byte_array_new ();
      g_autoptr(sqlite3_stmt) stmt = NULL;
      gsize len;
      const guint8 *data = g_bytes_get_data (wkb, &len);

      g_test_message ("%s", blob_wkts[i]);
      g_assert_true (dothi_blob_from_wkb (data, len, 9218, ours, NULL));

      /* SpatiaLite's blob of the same WKB. */
      g_assert_cmpint (sqlite3_prepare_v2 (s.db, "SELECT ST_GeomFromWKB(?1, ?2)", -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_bind_blob (stmt, 1, data, (int) len, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 2, 9218);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      g_assert_cmpint (sqlite3_column_type (stmt, 0), ==, SQLITE_BLOB);
      assert_bytes_equal (ours->data, ours->len, sqlite3_column_blob (stmt, 0),
                          sqlite3_column_bytes (stmt, 0), blob_wkts[i]);
      g_clear_pointer (&stmt, sqlite3_finalize);

      /* SpatiaLite reads our blob back to the same geometry. */
      g_assert_cmpint (sqlite3_prepare_v2 (s.db, "SELECT ST_AsText(?1), ST_SRID(?1)",
                                           -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_bind_blob (stmt, 1, ours->data, (int) ours->len, SQLITE_STATIC);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      g_assert_cmpint (sqlite3_column_type (stmt, 0), ==, SQLITE_TEXT);
      g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 9218);
      g_clear_pointer (&stmt, sqlite3_finalize);

      /* And a blob SpatiaLite made converts to the input WKB. */
      g_assert_cmpint (sqlite3_prepare_v2 (s.db, "SELECT ST_GeomFromWKB(?1, 4326)", -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_bind_blob (stmt, 1, data, (int) len, SQLITE_STATIC);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      g_assert_true (dothi_blob_to_wkb (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0),
                                        back, NULL));
      assert_bytes_equal (back->data, back->len, data, len, blob_wkts[i]);
    }
  spatialite_db_close (&s);
}

/* 2D geometries: SpatiaLite's AsBinary() of our blob is the input WKB. */
static void
test_blob_spatialite_as_binary (void)
{
  SpatialiteDb s;

  spatialite_db_open (&s);
  for (guint i = 0; blob_wkts[i] != NULL; i++)
    {
      g_autoptr(GBytes) wkb = NULL;
      g_autoptr(GByteArray) ours = g_byte_array_new ();
      g_autoptr(sqlite3_stmt) stmt = NULL;
      gsize len;
      const guint8 *data;

      if (strstr (blob_wkts[i], " Z") || strstr (blob_wkts[i], " M"))
        continue;   /* AsBinary() is 2D-only by the OGC definition */
      wkb = iso_wkb (blob_wkts[i], wkbNDR);
      data = g_bytes_get_data (wkb, &len);
      g_assert_true (dothi_blob_from_wkb (data, len, 9218, ours, NULL));
      g_assert_cmpint (sqlite3_prepare_v2 (s.db, "SELECT AsBinary(?1)", -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_bind_blob (stmt, 1, ours->data, (int) ours->len, SQLITE_STATIC);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      assert_bytes_equal (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0),
                          data, len, blob_wkts[i]);
    }
  spatialite_db_close (&s);
}

static void
test_blob_truncated (void)
{
  for (guint i = 0; blob_wkts[i] != NULL; i++)
    {
      g_autoptr(GBytes) wkb = iso_wkb (blob_wkts[i], wkbNDR);
      g_autoptr(GByteArray) out = g_byte_array_new ();
      g_autoptr(GByteArray) blob = g_byte_array_new ();
      gsize len;
      const guint8 *data = g_bytes_get_data (wkb, &len);

      for (gsize cut = 0; cut < len; cut++)
        {
          /* A copy of exactly @cut bytes, so a read past it is caught by
           * valgrind/ASan too. */
          g_autofree guint8 *part = g_memdup2 (data, cut);
          if (dothi_blob_from_wkb (part, cut, 9218, out, NULL))
            g_test_message ("%s accepted when cut to %" G_GSIZE_FORMAT " bytes", blob_wkts[i], cut);
          g_assert_false (dothi_blob_from_wkb (part, cut, 9218, out, NULL));
        }

      /* Trailing bytes are not silently ignored either. */
      {
        g_autofree guint8 *longer = g_malloc0 (len + 1);
        memcpy (longer, data, len);
        g_assert_false (dothi_blob_from_wkb (longer, len + 1, 9218, out, NULL));
      }

      /* Nor is a truncated blob read back. */
      g_assert_true (dothi_blob_from_wkb (data, len, 9218, blob, NULL));
      for (gsize cut = 0; cut < blob->len; cut++)
        {
          g_autofree guint8 *part = g_memdup2 (blob->data, cut);
          g_assert_false (dothi_blob_to_wkb (part, cut, out, NULL));
        }
    }
}

static void
test_blob_malformed (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  /* Bad byte order mark. */
  static const guint8 bad_order[] = { 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  /* A MULTIPOINT claiming four billion points. */
  static const guint8 huge[] = { 0x01, 0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0, 0, 0 };
  /* A LINESTRING claiming 0x10000000 points: 8 * 2 * n overflows 32 bits. */
  static const guint8 overflow[] = { 0x01, 0x02, 0, 0, 0, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0 };
  /* Type 8 (CircularString), 17 (Triangle) and 4001 are not simple features SpatiaLite stores. */
  static const guint8 curve[] = { 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0 };
  static const guint8 triangle[] = { 0x01, 0x11, 0, 0, 0, 0, 0, 0, 0 };
  static const guint8 bad_dims[] = { 0x01, 0xa1, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  /* A MULTIPOLYGON holding a POINT. */
  static const guint8 wrong_member[] = {
    0x01, 0x06, 0, 0, 0, 0x01, 0, 0, 0,
    0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,
  };
  /* A MULTIPOINT XY holding a POINT Z. */
  static const guint8 mixed_dims[] = {
    0x01, 0x04, 0, 0, 0, 0x01, 0, 0, 0,
    0x01, 0xe9, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,
    0, 0, 0, 0, 0, 0, 0xf0, 0x3f,
  };
  static const guint8 garbage_blob[64] = { 0x00, 0x01 };

  g_assert_false (dothi_blob_from_wkb (bad_order, sizeof bad_order, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (huge, sizeof huge, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (overflow, sizeof overflow, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (curve, sizeof curve, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (triangle, sizeof triangle, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (bad_dims, sizeof bad_dims, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (wrong_member, sizeof wrong_member, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (mixed_dims, sizeof mixed_dims, 0, out, NULL));
  g_assert_false (dothi_blob_from_wkb (NULL, 0, 0, out, NULL));
  g_assert_false (dothi_blob_to_wkb (garbage_blob, sizeof garbage_blob, out, NULL));
  g_assert_false (dothi_blob_to_wkb (NULL, 0, out, NULL));
}

/* A compressed SpatiaLite blob (CompressGeometry) is refused, not misread. */
static void
test_blob_compressed_refused (void)
{
  SpatialiteDb s;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();

  spatialite_db_open (&s);
  g_assert_cmpint (sqlite3_prepare_v2 (s.db,
                                       "SELECT CompressGeometry(GeomFromText("
                                       "'LINESTRING (0 0,1 1,2 2,3 3,4 4,5 5)', 9218))",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_type (stmt, 0), ==, SQLITE_BLOB);
  g_assert_false (dothi_blob_to_wkb (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0),
                                     out, NULL));
  g_clear_pointer (&stmt, sqlite3_finalize);
  spatialite_db_close (&s);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add_func ("/layer-info/slugify", test_slugify);
  g_test_add_func ("/layer-info/slugify/ascii", test_slugify_is_ascii_slug);
  g_test_add_func ("/layer-info/kind/strings", test_kind_strings);
  g_test_add_func ("/layer-info/field-type/strings", test_field_type_strings);
  g_test_add_func ("/layer-info/info/new", test_info_new);
  g_test_add_func ("/layer-info/info/copy", test_info_copy);
  g_test_add_func ("/layer-info/info/find-field", test_info_find_field);
  g_test_add_func ("/layer-info/blob/round-trip", test_blob_round_trip);
  g_test_add_func ("/layer-info/blob/big-endian", test_blob_big_endian);
  g_test_add_func ("/layer-info/blob/mbr", test_blob_mbr);
  g_test_add_func ("/layer-info/blob/matches-spatialite", test_blob_matches_spatialite);
  g_test_add_func ("/layer-info/blob/spatialite-as-binary", test_blob_spatialite_as_binary);
  g_test_add_func ("/layer-info/blob/truncated", test_blob_truncated);
  g_test_add_func ("/layer-info/blob/malformed", test_blob_malformed);
  g_test_add_func ("/layer-info/blob/compressed-refused", test_blob_compressed_refused);

  return g_test_run ();
}
