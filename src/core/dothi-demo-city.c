/* dothi-demo-city.c: writes a deterministic, plausible city around Buôn Ma
 * Thuột (blocks of parcels, zoning, roads, water and power networks, sensor
 * stations) as a new GeoPackage in EPSG:9218, for the demo and benchmarks. */
#define G_LOG_DOMAIN "dothi-demo-city"

#include "dothi-demo-city.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <cpl_error.h>

#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-progress.h"

/* The city is laid out in a local "city frame" (metres, origin at the
 * centre, x along the street grid), turned by 10° and moved to the
 * centre of Buôn Ma Thuột in VN-2000 / TM-3 108°30'.  Every vertex is made
 * once, from block-local coordinates, and rounded to the centimetre; two
 * parcels that share a boundary use the very same vertices, so neighbours
 * meet exactly and never overlap.
 *
 * Determinism: everything random comes from splitmix64 streams seeded with
 * (seed, what, where): a block's parcels depend only on the seed, the size
 * of the city and the block's grid cell.  Only IEEE-exact arithmetic (+, -,
 * *, /, sqrt) decides coordinates: no libm trigonometry. */

#define CENTRE_E 457900.0
#define CENTRE_N 1403300.0
/* cos and sin of 10°: the street grid of the centre is turned that way */
#define GRID_COS 0.98480775301220802
#define GRID_SIN 0.17364817766693033

#define SPATIAL_REF_EPSG 9218

/* Parcels per block on average, and a cell's mean area (m²): together
 * they size the city for a number of parcels. */
#define AVG_PARCELS_PER_BLOCK 14.0
#define AVG_CELL_AREA 10200.0

#define BATCH_FEATURES 100000  /* features per transaction */
#define CHECK_EVERY 1024       /* features between cancellation checks */
#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 10)
/* Progress: writing parcels to 0.28, the other layers to 0.33, then the
 * spatial indexes, which take twice as long as writing (GDAL 3.6, 1M
 * parcels: 5 s writing, 10 s indexing) */
#define PARCELS_SHARE 0.28
#define WRITE_SHARE 0.33

#define MAX_ROW 64             /* parcels in one row of a block */
#define MAX_CHAIN (2 * MAX_ROW + 4)
#define MAX_PTS 512
#define MAX_RING 9             /* 8 vertices and the closing one */

#define TWO_ROW_MIN_DEPTH 36.0 /* shallower blocks have one row of parcels */
#define ROW_LAST_MIN 3.5       /* narrowest last parcel of a row, m */
#define CHAIN_SEP 1.5          /* least gap between back-line vertices, m */
#define SNAP_MIN 3.0           /* narrowest back-row parcel, m */
#define SHEET_SIZE 400.0       /* side of a cadastral map sheet, m */

/* ---- Random numbers ---------------------------------------------------- */

typedef struct
{
  guint64 state;
} Rng;

typedef enum
{
  STREAM_COLUMN = 1,
  STREAM_ROW,
  STREAM_VLINE,
  STREAM_HLINE,
  STREAM_BLOCK,
  STREAM_CLUSTER,
  STREAM_EDGE,
  STREAM_NODE,
  STREAM_POWER,
} Stream;

static inline guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static void
rng_init (Rng     *rng,
          guint32  seed,
          Stream   stream,
          gint64   a,
          gint64   b)
{
  guint64 s = mix64 (((guint64) seed << 8) ^ (guint64) stream);

  s = mix64 (s ^ (guint64) a);
  s = mix64 (s ^ ((guint64) b * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)));
  rng->state = s;
}

static inline guint64
rng_next (Rng *rng)
{
  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  return mix64 (rng->state);
}

/* Uniform in [lo, hi). */
static inline double
rng_uniform (Rng    *rng,
             double  lo,
             double  hi)
{
  return lo + (hi - lo) * ((double) (rng_next (rng) >> 11) * (1.0 / 9007199254740992.0));
}

static inline guint
rng_below (Rng   *rng,
           guint  n)
{
  return (guint) (((rng_next (rng) >> 32) * (guint64) n) >> 32);
}

static inline gboolean
rng_chance (Rng    *rng,
            double  p)
{
  return rng_uniform (rng, 0.0, 1.0) < p;
}

static guint
rng_weighted (Rng          *rng,
              const guint8 *weights,
              guint         n)
{
  guint total = 0;
  guint r;

  for (guint k = 0; k < n; k++)
    total += weights[k];
  g_assert (total > 0);
  r = rng_below (rng, total);
  for (guint k = 0; k < n; k++)
    {
      if (r < weights[k])
        return k;
      r -= weights[k];
    }
  g_assert_not_reached ();
}

#define PICK(rng, array) ((array)[rng_below ((rng), G_N_ELEMENTS (array))])

static inline gint
floor_div (gint a,
           gint b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* ---- Names ------------------------------------------------------------- */

static const char * const family_names[] = {
  "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ",
  "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
};
/* roughly their share of the population, % */
static const guint8 family_weights[] = {
  38, 11, 10, 7, 3, 2, 5, 2, 2, 2, 2, 2, 2, 2, 1, 1,
};
G_STATIC_ASSERT (G_N_ELEMENTS (family_names) == G_N_ELEMENTS (family_weights));

static const char * const male_middle[] = {
  "Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thành",
  "Xuân", "Đình", "Quốc", "Ngọc", "Trọng", "Anh",
};
static const char * const female_middle[] = {
  "Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Thùy", "Kim", "Mỹ",
  "Phương", "Bích", "Hồng", "Minh",
};
static const char * const male_given[] = {
  "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Hưng", "Khánh", "Long",
  "Minh", "Nam", "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Thành",
  "Trung", "Tuấn", "Việt", "Vinh", "Đạt", "Hiếu", "Hoàng", "Huy", "Khoa",
  "Lâm", "Lộc", "Nghĩa", "Tài", "Tiến", "Toàn", "Trí", "Dương", "Đông",
};
static const char * const female_given[] = {
  "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hồng",
  "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "Ngân", "Nga", "Nhung",
  "Oanh", "Phượng", "Quyên", "Tâm", "Thảo", "Thủy", "Trang", "Tuyết",
  "Uyên", "Vân", "Xuân", "Yến",
};
/* Ê Đê names: "Y" for men and "H'" for women, then the clan */
static const char * const ede_clans[] = {
  "Niê", "Êban", "Mlô", "Byă", "Ktla", "Ayŭn", "Adrơng", "Buôn Yă",
  "Hwing", "Ênuôl", "Knul", "Kbuôr", "Mdrang", "Bkrông",
};
static const char * const ede_male[] = {
  "Jút", "Bih", "Moan", "Ngông", "Wang", "Sơn", "Blô", "Khuê", "Kông",
  "Dhăm", "Tlang", "Nguôn", "Lang", "Thuột",
};
static const char * const ede_female[] = {
  "Linh", "Xuân", "Hen", "Nhi", "Ble", "Kim", "Yam", "Mai", "Hương", "Rin",
};

static const char * const arterial_names[] = {
  "Lê Duẩn", "Nguyễn Tất Thành", "Phan Bội Châu", "Hùng Vương",
  "Trường Chinh", "Võ Văn Kiệt", "Giải Phóng", "Nguyễn Chí Thanh",
  "Phạm Văn Đồng", "Đinh Tiên Hoàng", "Tôn Đức Thắng", "Điện Biên Phủ",
  "Quốc lộ 14", "Quốc lộ 26", "Quốc lộ 27", "Quốc lộ 29", "Tỉnh lộ 1",
  "Tỉnh lộ 2", "Tỉnh lộ 5", "Tỉnh lộ 8", "Tỉnh lộ 10",
};
/* also the namesakes of schools */
static const char * const street_names[] = {
  "Hai Bà Trưng", "Y Jút", "Ama Khê", "Trần Hưng Đạo", "Lý Thường Kiệt",
  "Quang Trung", "Phan Chu Trinh", "Lê Hồng Phong", "Ngô Quyền", "Y Wang",
  "Y Ngông", "Mai Hắc Đế", "Nơ Trang Lơng", "Nguyễn Văn Cừ",
  "Lê Thánh Tông", "Hoàng Diệu", "Bà Triệu", "Lê Lợi", "Nguyễn Du",
  "Phan Đình Giót", "Ngô Gia Tự", "Chu Văn An", "Nguyễn Công Trứ",
  "Y Bih Alêô", "Ama Trang Lơng", "Đào Duy Từ", "Trần Phú", "Lê Quý Đôn",
  "Hà Huy Tập", "Tản Đà", "Nguyễn Trãi", "Võ Thị Sáu", "Mạc Thị Bưởi",
  "Lê Thị Hồng Gấm", "Nguyễn Thị Minh Khai", "Xô Viết Nghệ Tĩnh", "Y Ơn",
  "Đinh Núp", "Phan Huy Chú", "Cao Bá Quát", "Hồ Xuân Hương",
  "Bùi Thị Xuân", "Nguyễn Khuyến", "Tô Hiến Thành", "Lê Văn Hưu",
  "Mai Thị Lựu", "Phạm Ngũ Lão", "Nguyễn Đình Chiểu", "Trần Quang Khải",
  "Trần Khánh Dư", "Hoàng Văn Thụ", "Lê Đại Hành", "Nguyễn Lương Bằng",
  "Y Moan Ênuôl", "Trần Nhật Duật", "Nguyễn Văn Trỗi", "Lý Tự Trọng",
  "Kim Đồng", "Yết Kiêu", "Nguyễn Thái Học", "Phan Kế Bính",
  "Lê Anh Xuân", "Tuệ Tĩnh", "Hải Thượng Lãn Ông", "Lê Văn Tám",
};
static const char * const school_kinds[] = {
  "Trường Mầm non", "Trường Tiểu học", "Trường Tiểu học", "Trường THCS",
  "Trường THPT",
};
static const char * const business_names[] = {
  "Ban Mê", "Tây Nguyên Xanh", "Đại Phát", "Hoàng Phúc", "Thành Đạt",
  "Cao Nguyên", "Phú Quý", "Minh Long", "Bảo Tín", "Ea Nao", "Hồng Đức",
  "Đắk Lắk Xanh",
};
static const char * const industry_names[] = {
  "Cà phê Ban Mê", "Cà phê Cao Nguyên", "Chế biến Nông sản Đắk Lắk",
  "Gạch ngói Ea Tam", "Cơ khí Tây Nguyên", "Chế biến Gỗ Đắk Lắk",
  "Thức ăn Chăn nuôi Ban Mê", "Vật liệu Xây dựng Ea Kao",
};
static const char * const ede_villages[] = {
  "Buôn Ko Tam", "Buôn Akŏ Dhông", "Buôn Ky", "Buôn Kô Siêr",
  "Buôn Alê A", "Buôn Êga", "Buôn Kmrơng Prông", "Buôn Tơng Jũ",
};

typedef struct
{
  const char *kind;        /* "Phường" or "Xã" */
  const char *kind_lower;  /* as written inside a name */
  const char *name;
  const char *code;        /* ma_xa: code-like, so text */
  gboolean    urban;
} Ward;

/* 0 the centre; 1–4 the urban ring N, E, S, W; 5–12 the rural ring by
 * octant N, NE, E, SE, S, SW, W, NW. */
static const Ward wards[] = {
  { "Phường", "phường", "Buôn Ma Thuột", "24121", TRUE },
  { "Phường", "phường", "Tân An", "24124", TRUE },
  { "Phường", "phường", "Tân Lập", "24118", TRUE },
  { "Phường", "phường", "Ea Kao", "24133", TRUE },
  { "Phường", "phường", "Thành Nhất", "24127", TRUE },
  { "Xã", "xã", "Hòa Thuận", "24136", FALSE },
  { "Xã", "xã", "Ea Tu", "24139", FALSE },
  { "Xã", "xã", "Hòa Thắng", "24142", FALSE },
  { "Xã", "xã", "Hòa Xuân", "24145", FALSE },
  { "Xã", "xã", "Hòa Phú", "24148", FALSE },
  { "Xã", "xã", "Hòa Khánh", "24151", FALSE },
  { "Xã", "xã", "Cư Êbur", "24154", FALSE },
  { "Xã", "xã", "Ea Drông", "24157", FALSE },
};
#define N_WARDS G_N_ELEMENTS (wards)

/* ---- Land use and zoning ---------------------------------------------- */

typedef enum
{
  USE_RES,  /* residential: ODT in a ward, ONT in a commune */
  USE_CLN,
  USE_LUC,
  USE_BHK,
  USE_TMD,
  USE_DGT,
  USE_SKC,
  USE_DGD,
  USE_DYT,
  USE_TSC,
  USE_CQP,
  USE_DKV,
  N_USES
} Use;

static const char * const use_codes[N_USES] = {
  "ODT", "CLN", "LUC", "BHK", "TMD", "DGT", "SKC", "DGD", "DYT", "TSC",
  "CQP", "DKV",
};

typedef enum
{
  RING_CORE,
  RING_SUBURB,
  RING_RURAL,
} Ring;

typedef enum
{
  LAYOUT_TWO_ROWS,
  LAYOUT_ONE_ROW,
  LAYOUT_WHOLE,
} Layout;

typedef enum
{
  ZONE_OHH,
  ZONE_OM,
  ZONE_TM,
  ZONE_CC,
  ZONE_CX,
  ZONE_QP,
  ZONE_CN,
  ZONE_NT,
  ZONE_NN,
  N_ZONES
} ZoneKindId;

typedef struct
{
  const char *code;       /* prefix of ma_khu */
  const char *function;   /* chuc_nang */
  guint8      density;    /* mat_do_xd, % */
  guint8      floors;     /* tang_cao */
  Layout      layout;
  float       w_min, w_max;
  float       p_alley;
  float       p_facility;
  float       f_min, f_max;
  Use         whole_use;
  guint8      weights[N_USES];
  guint8      facility_weights[N_USES];
} ZoneKind;

static const ZoneKind zone_kinds[N_ZONES] = {
  [ZONE_OHH] = { "OHH", "Đất ở hiện hữu", 80, 5, LAYOUT_TWO_ROWS,
                 4.5, 11, 0.02, 0.03, 22, 45, USE_RES,
                 { [USE_RES] = 80, [USE_CLN] = 7, [USE_BHK] = 4, [USE_TMD] = 9 },
                 { [USE_DGD] = 40, [USE_DYT] = 20, [USE_TSC] = 25, [USE_TMD] = 15 } },
  [ZONE_OM] = { "OM", "Đất ở mới", 70, 7, LAYOUT_TWO_ROWS,
                5, 10, 0.015, 0.02, 22, 40, USE_RES,
                { [USE_RES] = 84, [USE_CLN] = 6, [USE_BHK] = 4, [USE_TMD] = 6 },
                { [USE_DGD] = 50, [USE_DYT] = 20, [USE_TSC] = 20, [USE_TMD] = 10 } },
  [ZONE_TM] = { "TM", "Đất thương mại, dịch vụ", 60, 15, LAYOUT_TWO_ROWS,
                4, 8, 0.01, 0.06, 25, 50, USE_RES,
                { [USE_RES] = 40, [USE_TMD] = 60 },
                { [USE_TMD] = 70, [USE_TSC] = 15, [USE_DYT] = 15 } },
  [ZONE_CC] = { "CC", "Đất công cộng", 40, 5, LAYOUT_TWO_ROWS,
                6, 14, 0, 0.65, 25, 60, USE_RES,
                { [USE_RES] = 100 },
                { [USE_DGD] = 40, [USE_DYT] = 20, [USE_TSC] = 30, [USE_TMD] = 10 } },
  [ZONE_CX] = { "CX", "Đất cây xanh", 5, 1, LAYOUT_WHOLE,
                0, 0, 0, 0, 0, 0, USE_DKV, { 0 }, { 0 } },
  [ZONE_QP] = { "QP", "Đất quốc phòng", 30, 3, LAYOUT_WHOLE,
                0, 0, 0, 0, 0, 0, USE_CQP, { 0 }, { 0 } },
  [ZONE_CN] = { "CN", "Đất công nghiệp", 60, 3, LAYOUT_ONE_ROW,
                30, 70, 0, 0, 0, 0, USE_SKC,
                { [USE_SKC] = 85, [USE_TMD] = 15 }, { 0 } },
  [ZONE_NT] = { "NT", "Đất ở nông thôn", 50, 3, LAYOUT_TWO_ROWS,
                9, 22, 0.01, 0.02, 25, 45, USE_RES,
                { [USE_RES] = 60, [USE_CLN] = 28, [USE_BHK] = 12 },
                { [USE_DGD] = 50, [USE_TSC] = 30, [USE_DYT] = 20 } },
  [ZONE_NN] = { "NN", "Đất nông nghiệp", 0, 1, LAYOUT_ONE_ROW,
                16, 42, 0, 0, 0, 0, USE_CLN,
                { [USE_CLN] = 66, [USE_BHK] = 18, [USE_LUC] = 10, [USE_RES] = 6 },
                { 0 } },
};

/* zone kinds by ring, weights in % */
static const guint8 core_zones[N_ZONES] = {
  [ZONE_OHH] = 73, [ZONE_TM] = 12, [ZONE_CC] = 9, [ZONE_CX] = 6,
};
static const guint8 suburb_zones[N_ZONES] = {
  [ZONE_OM] = 43, [ZONE_OHH] = 25, [ZONE_NT] = 12, [ZONE_CN] = 6,
  [ZONE_CC] = 5, [ZONE_CX] = 4, [ZONE_TM] = 3, [ZONE_QP] = 2,
};
static const guint8 village_zones[N_ZONES] = {
  [ZONE_NT] = 75, [ZONE_NN] = 25,
};
static const guint8 farm_zones[N_ZONES] = {
  [ZONE_NN] = 94, [ZONE_NT] = 3, [ZONE_CN] = 2, [ZONE_QP] = 1,
};

typedef enum
{
  ROAD_ARTERIAL,
  ROAD_DISTRICT,
  ROAD_LOCAL,
} RoadClass;

/* ---- The grid ---------------------------------------------------------- */

typedef struct
{
  gint32 i, j;     /* grid cell */
  double d2;       /* squared distance of its centre from the city centre */
} Cell;

typedef struct
{
  guint8 zone;     /* ZoneKindId */
  guint8 ring;     /* Ring */
  guint8 ward;     /* index into wards[] */
} CellInfo;

typedef struct
{
  guint32 seed;
  double  radius;    /* planned radius of the city, m */

  /* columns i0 .. i0 + ni - 1 and rows j0 .. j0 + nj - 1; line k is the
   * left (bottom) edge of column (row) k, lines 0 .. ni (nj) */
  gint    i0, ni, j0, nj;
  double *xs, *ys;
  double *vwidth, *hwidth;
  guint8 *vclass, *hclass;
  char  **vname, **hname;

  Cell     *cells;    /* cells in the circle, nearest first */
  guint     n_cells;
  guint     n_used;   /* the first n_used cells hold the city */
  CellInfo *info;     /* per used cell */
  gint32   *order;    /* grid cell -> index in cells[], or -1 when unused */
} City;

static void
city_free (City *city)
{
  g_free (city->xs);
  g_free (city->ys);
  g_free (city->vwidth);
  g_free (city->hwidth);
  g_free (city->vclass);
  g_free (city->hclass);
  if (city->vname != NULL)
    for (gint k = 0; k <= city->ni; k++)
      g_free (city->vname[k]);
  if (city->hname != NULL)
    for (gint l = 0; l <= city->nj; l++)
      g_free (city->hname[l]);
  g_free (city->vname);
  g_free (city->hname);
  g_free (city->cells);
  g_free (city->info);
  g_free (city->order);
  g_free (city);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (City, city_free)

static int
compare_cells (const void *a,
               const void *b)
{
  const Cell *ca = a, *cb = b;

  if (ca->d2 != cb->d2)
    return ca->d2 < cb->d2 ? -1 : 1;
  if (ca->i != cb->i)
    return ca->i < cb->i ? -1 : 1;
  return (ca->j > cb->j) - (ca->j < cb->j);
}

/* Line positions from cell sizes drawn per column (row), centred so that
 * cell 0 straddles the city centre. */
static void
build_axis (guint32   seed,
            Stream    stream,
            gint      first,
            gint      n,
            double    size_min,
            double    size_max,
            double   *lines)
{
  gint zero = -first;  /* index of cell 0 */
  Rng rng;

  rng_init (&rng, seed, stream, 0, 0);
  lines[zero] = -rng_uniform (&rng, size_min, size_max) / 2.0;
  for (gint k = zero; k < n; k++)
    {
      rng_init (&rng, seed, stream, first + k, 0);
      lines[k + 1] = lines[k] + rng_uniform (&rng, size_min, size_max);
    }
  for (gint k = zero - 1; k >= 0; k--)
    {
      rng_init (&rng, seed, stream, first + k, 0);
      lines[k] = lines[k + 1] - rng_uniform (&rng, size_min, size_max);
    }
}

static void
build_lines (guint32    seed,
             Stream     stream,
             gint       first,
             gint       n_lines,
             double    *widths,
             guint8    *classes)
{
  static const double arterial_widths[] = { 27, 30, 32, 36 };
  static const double district_widths[] = { 16, 18, 20, 22 };
  static const double local_widths[] = { 8, 10, 11, 12, 13 };

  for (gint k = 0; k < n_lines; k++)
    {
      gint index = first + k;
      Rng rng;

      rng_init (&rng, seed, stream, index, 0);
      if ((index % 5 + 5) % 5 == 0)
        {
          classes[k] = ROAD_ARTERIAL;
          widths[k] = PICK (&rng, arterial_widths);
        }
      else if (rng_chance (&rng, 0.35))
        {
          classes[k] = ROAD_DISTRICT;
          widths[k] = PICK (&rng, district_widths);
        }
      else
        {
          classes[k] = ROAD_LOCAL;
          widths[k] = PICK (&rng, local_widths);
        }
    }
}

/* Street names go to the lines nearest the centre first, vertical and
 * horizontal in turn; lines beyond the lists are numbered. */
static void
name_lines (City *city)
{
  guint next_arterial = 0, next_street = 0, next_number = 1;
  gint reach = MAX (MAX (-city->i0, city->i0 + city->ni),
                    MAX (-city->j0, city->j0 + city->nj));

  city->vname = g_new0 (char *, city->ni + 1);
  city->hname = g_new0 (char *, city->nj + 1);
  for (gint r = 0; r <= reach; r++)
    for (guint side = 0; side < 4; side++)
      {
        gboolean vertical = side % 2 == 0;
        gint index = side < 2 ? r : -r;
        gint k = index - (vertical ? city->i0 : city->j0);
        gint n = vertical ? city->ni : city->nj;
        char **names = vertical ? city->vname : city->hname;
        guint8 cls;

        if ((r == 0 && side >= 2) || k < 0 || k > n)
          continue;
        cls = vertical ? city->vclass[k] : city->hclass[k];
        if (cls == ROAD_ARTERIAL && next_arterial < G_N_ELEMENTS (arterial_names))
          names[k] = g_strdup (arterial_names[next_arterial++]);
        else if (cls != ROAD_ARTERIAL && next_street < G_N_ELEMENTS (street_names))
          names[k] = g_strdup (street_names[next_street++]);
        else
          names[k] = g_strdup_printf ("Đường số %u", next_number++);
      }
}

/* 0 to 7 for N, NE, E, SE, S, SW, W, NW of the centre */
static guint
octant_of (double x,
           double y)
{
  double ax = fabs (x), ay = fabs (y);
  const double t = 0.41421356237309503;  /* tan 22.5° */

  if (ax <= t * ay)
    return y > 0 ? 0 : 4;
  if (ay <= t * ax)
    return x > 0 ? 2 : 6;
  if (x > 0)
    return y > 0 ? 1 : 3;
  return y > 0 ? 7 : 5;
}

static guint
ward_at (const City *city,
         double      x,
         double      y)
{
  double d2 = x * x + y * y;
  double r = city->radius;

  if (d2 < 0.09 * r * r)
    return 0;
  if (d2 < 0.49 * r * r)
    {
      if (fabs (y) >= fabs (x))
        return y > 0 ? 1 : 3;
      return x > 0 ? 2 : 4;
    }
  return 5 + octant_of (x, y);
}

static City *
city_new (guint32 seed,
          guint   n_parcels)
{
  g_autoptr(City) city = g_new0 (City, 1);
  double reach;
  gint mi, mj;
  guint n = 0;

  city->seed = seed;
  city->radius = MAX (300.0, sqrt (n_parcels / AVG_PARCELS_PER_BLOCK
                                   * AVG_CELL_AREA / G_PI));
  /* room for twice the planned radius: the city stops growing where its
   * parcels run out, wherever that is */
  reach = 2.0 * city->radius + 400.0;
  mi = (gint) (reach / 105.0) + 2;
  mj = (gint) (reach / 62.0) + 2;
  city->i0 = -mi;
  city->ni = 2 * mi + 1;
  city->j0 = -mj;
  city->nj = 2 * mj + 1;

  city->xs = g_new (double, city->ni + 1);
  city->ys = g_new (double, city->nj + 1);
  build_axis (seed, STREAM_COLUMN, city->i0, city->ni, 105, 160, city->xs);
  build_axis (seed, STREAM_ROW, city->j0, city->nj, 62, 92, city->ys);

  city->vwidth = g_new (double, city->ni + 1);
  city->hwidth = g_new (double, city->nj + 1);
  city->vclass = g_new (guint8, city->ni + 1);
  city->hclass = g_new (guint8, city->nj + 1);
  build_lines (seed, STREAM_VLINE, city->i0, city->ni + 1, city->vwidth, city->vclass);
  build_lines (seed, STREAM_HLINE, city->j0, city->nj + 1, city->hwidth, city->hclass);
  name_lines (city);

  city->cells = g_new (Cell, (gsize) city->ni * city->nj);
  for (gint k = 0; k < city->ni; k++)
    for (gint l = 0; l < city->nj; l++)
      {
        double cx = (city->xs[k] + city->xs[k + 1]) / 2.0;
        double cy = (city->ys[l] + city->ys[l + 1]) / 2.0;
        double d2 = cx * cx + cy * cy;

        if (d2 > reach * reach)
          continue;
        city->cells[n].i = city->i0 + k;
        city->cells[n].j = city->j0 + l;
        city->cells[n].d2 = d2;
        n++;
      }
  city->n_cells = n;
  qsort (city->cells, n, sizeof (Cell), compare_cells);

  city->info = g_new0 (CellInfo, n);
  city->order = g_new (gint32, (gsize) city->ni * city->nj);
  memset (city->order, 0xff, sizeof (gint32) * city->ni * city->nj);

  return g_steal_pointer (&city);
}

static inline gint32
city_cell_at (const City *city,
              gint        k,
              gint        l)
{
  if (k < 0 || k >= city->ni || l < 0 || l >= city->nj)
    return -1;
  return city->order[(gsize) k * city->nj + l];
}

static void
city_frame_to_world (double  x,
                     double  y,
                     gint64 *e_cm,
                     gint64 *n_cm)
{
  double e = CENTRE_E + GRID_COS * x - GRID_SIN * y;
  double n = CENTRE_N + GRID_SIN * x + GRID_COS * y;

  *e_cm = llround (e * 100.0);
  *n_cm = llround (n * 100.0);
}

static void
choose_zone (const City *city,
             const Cell *cell,
             CellInfo   *info)
{
  double r2 = city->radius * city->radius;
  gint k = cell->i - city->i0, l = cell->j - city->j0;
  double cx = (city->xs[k] + city->xs[k + 1]) / 2.0;
  double cy = (city->ys[l] + city->ys[l + 1]) / 2.0;
  const guint8 *weights;
  Rng rng;

  info->ward = ward_at (city, cx, cy);
  if (cell->d2 < 0.35 * 0.35 * r2)
    info->ring = RING_CORE;
  else if (cell->d2 < 0.7 * 0.7 * r2)
    info->ring = RING_SUBURB;
  else
    info->ring = RING_RURAL;

  if (info->ring == RING_CORE)
    weights = core_zones;
  else if (info->ring == RING_SUBURB)
    weights = suburb_zones;
  else
    {
      /* villages come in clusters of 4 × 4 cells */
      rng_init (&rng, city->seed, STREAM_CLUSTER,
                floor_div (cell->i, 4), floor_div (cell->j, 4));
      weights = rng_chance (&rng, 0.2) ? village_zones : farm_zones;
    }
  rng_init (&rng, city->seed, STREAM_BLOCK, cell->i, cell->j);
  info->zone = rng_weighted (&rng, weights, N_ZONES);
}

/* ---- Block layout ------------------------------------------------------ */

typedef struct
{
  guint   n;                    /* parcels */
  double  a[MAX_ROW + 1];       /* divisions along the front, a[0] = 0, a[n] = L */
  guint8  use[MAX_ROW];
  guint16 front[MAX_ROW + 1];   /* point index on the front */
  guint16 back[MAX_ROW + 1];    /* chain index (two rows) or point index
                                 * on the far side (one row) */
  gint16  bend[MAX_ROW + 1];    /* point index, or -1 */
  guint8  nv[MAX_ROW];          /* vertices of each parcel */
} Row;

typedef struct
{
  gint      k, l;               /* grid column and row */
  double    bx0, by0, bx1, by1; /* the block in the city frame */
  gboolean  long_x;             /* rows run along x */
  double    L, D;               /* length and depth, m */
  guint     n_rows;             /* 0: one parcel for the whole block */
  Row       rows[2];
  guint     n_chain;
  guint16   chain[MAX_CHAIN];   /* the line between two rows, by point */
  guint16   corner[4];          /* (0,0) (L,0) (L,D) (0,D) */
  guint     n_pts;
  double    pu[MAX_PTS], pv[MAX_PTS];
  gint64    pe[MAX_PTS], pn[MAX_PTS];  /* world, cm */
} Block;

static void
block_frame (const City *city,
             Block      *b,
             gint        k,
             gint        l)
{
  b->k = k;
  b->l = l;
  b->bx0 = city->xs[k] + city->vwidth[k] / 2.0;
  b->bx1 = city->xs[k + 1] - city->vwidth[k + 1] / 2.0;
  b->by0 = city->ys[l] + city->hwidth[l] / 2.0;
  b->by1 = city->ys[l + 1] - city->hwidth[l + 1] / 2.0;
  b->long_x = b->bx1 - b->bx0 >= b->by1 - b->by0;
  b->L = b->long_x ? b->bx1 - b->bx0 : b->by1 - b->by0;
  b->D = b->long_x ? b->by1 - b->by0 : b->bx1 - b->bx0;
  b->n_pts = 0;
}

/* Rows run along u from the corner (bx0, by0); v grows inwards from the
 * front.  For blocks long in y that is a quarter turn, which keeps
 * counter-clockwise rings counter-clockwise. */
static inline void
block_to_city (const Block *b,
               double       u,
               double       v,
               double      *x,
               double      *y)
{
  if (b->long_x)
    {
      *x = b->bx0 + u;
      *y = b->by0 + v;
    }
  else
    {
      *x = b->bx1 - v;
      *y = b->by0 + u;
    }
}

static guint16
add_point (Block  *b,
           double  u,
           double  v)
{
  double x, y;

  g_assert (b->n_pts < MAX_PTS);
  b->pu[b->n_pts] = u;
  b->pv[b->n_pts] = v;
  block_to_city (b, u, v, &x, &y);
  city_frame_to_world (x, y, &b->pe[b->n_pts], &b->pn[b->n_pts]);
  return b->n_pts++;
}

static void
add_corners (Block *b)
{
  b->corner[0] = add_point (b, 0.0, 0.0);
  b->corner[1] = add_point (b, b->L, 0.0);
  b->corner[2] = add_point (b, b->L, b->D);
  b->corner[3] = add_point (b, 0.0, b->D);
}

static void
draw_parcel (Rng            *rng,
             const ZoneKind *zk,
             Use            *use,
             double         *width)
{
  if (zk->p_alley > 0 && rng_chance (rng, zk->p_alley))
    {
      *use = USE_DGT;
      *width = rng_uniform (rng, 3.0, 4.0);
    }
  else if (zk->p_facility > 0 && rng_chance (rng, zk->p_facility))
    {
      *use = rng_weighted (rng, zk->facility_weights, N_USES);
      *width = rng_uniform (rng, zk->f_min, zk->f_max);
    }
  else
    {
      *use = rng_weighted (rng, zk->weights, N_USES);
      *width = rng_uniform (rng, zk->w_min, zk->w_max);
      /* gardens and fields among houses are wider than house lots */
      if (zk->layout == LAYOUT_TWO_ROWS
          && (*use == USE_CLN || *use == USE_BHK || *use == USE_LUC))
        *width *= 1.5;
    }
}

static void
layout_front_row (Block          *b,
                  Row            *row,
                  Rng            *rng,
                  const ZoneKind *zk)
{
  double pos = 0.0;

  row->n = 0;
  row->a[0] = 0.0;
  for (;;)
    {
      Use use;
      double w;

      draw_parcel (rng, zk, &use, &w);
      g_assert (row->n < MAX_ROW);
      row->use[row->n] = use;
      row->n++;
      if (pos + w + ROW_LAST_MIN > b->L)
        {
          row->a[row->n] = b->L;
          break;
        }
      pos += w;
      row->a[row->n] = pos;
    }
}

static guint16
add_chain (Block    *b,
           Rng      *rng,
           double    u,
           double    v_mid,
           gboolean  end)
{
  double ju = end ? 0.0 : rng_uniform (rng, -0.4, 0.4);

  g_assert (b->n_chain < MAX_CHAIN);
  b->chain[b->n_chain] = add_point (b, u + ju, v_mid + rng_uniform (rng, -0.5, 0.5));
  return b->n_chain++;
}

/* The back row's divisions either meet the front row's on the shared line
 * (one vertex for four parcels) or fall between them, at least CHAIN_SEP
 * away.  At most two of them fall inside any front parcel, and at most two
 * front divisions inside any back parcel, so no parcel has more than six
 * vertices before bends. */
static void
layout_back_row (Block          *b,
                 Rng            *rng,
                 const ZoneKind *zk,
                 double          v_mid)
{
  Row *ra = &b->rows[0], *rb = &b->rows[1];
  double last = 0.0, target, w;
  guint n_inside = 0;  /* front divisions inside the current back parcel */
  Use use;

  b->n_chain = 0;
  ra->back[0] = rb->back[0] = add_chain (b, rng, 0.0, v_mid, TRUE);
  rb->n = 0;
  rb->a[0] = 0.0;
  draw_parcel (rng, zk, &use, &w);
  rb->use[0] = use;
  target = w;

  for (guint k = 0; k < ra->n; k++)
    {
      double lo = ra->a[k], hi = ra->a[k + 1];
      gboolean last_front = k == ra->n - 1;
      double limit = last_front ? b->L - SNAP_MIN : hi - CHAIN_SEP;
      guint free_here = 0;

      while (free_here < 2)
        {
          double p = MAX (target, MAX (lo, last) + CHAIN_SEP);

          if (p > limit)
            break;
          g_assert (rb->n + 1 < MAX_ROW);
          rb->n++;
          rb->a[rb->n] = p;
          rb->back[rb->n] = add_chain (b, rng, p, v_mid, FALSE);
          last = p;
          free_here++;
          n_inside = 0;
          draw_parcel (rng, zk, &use, &w);
          rb->use[rb->n] = use;
          target = p + w;
        }
      if (last_front)
        break;

      ra->back[k + 1] = add_chain (b, rng, hi, v_mid, FALSE);
      if ((target < hi + CHAIN_SEP || n_inside >= 2) && hi - last >= SNAP_MIN)
        {
          g_assert (rb->n + 1 < MAX_ROW);
          rb->n++;
          rb->a[rb->n] = hi;
          rb->back[rb->n] = ra->back[k + 1];
          last = hi;
          n_inside = 0;
          draw_parcel (rng, zk, &use, &w);
          rb->use[rb->n] = use;
          target = hi + w;
        }
      else
        n_inside++;
    }
  g_assert (n_inside <= 2);
  ra->back[ra->n] = add_chain (b, rng, b->L, v_mid, TRUE);
  rb->n++;
  rb->a[rb->n] = b->L;
  rb->back[rb->n] = ra->back[ra->n];
}

/* Front points of a row at v, the block's ends exact. */
static void
add_fronts (Block   *b,
            Row     *row,
            Rng     *rng,
            double   v,
            guint16 *out)
{
  out[0] = v == 0.0 ? b->corner[0] : b->corner[3];
  for (guint k = 1; k < row->n; k++)
    out[k] = add_point (b, row->a[k] + rng_uniform (rng, -0.4, 0.4), v);
  out[row->n] = v == 0.0 ? b->corner[1] : b->corner[2];
}

/* A bend halfway along a division, shared by the parcels either side;
 * added only while both stay within eight vertices. */
static void
add_bends (Block   *b,
           Row     *row,
           Rng     *rng,
           guint16 *from,
           guint16 *to)
{
  row->bend[0] = row->bend[row->n] = -1;
  for (guint k = 1; k < row->n; k++)
    {
      double t, u, v;

      row->bend[k] = -1;
      if (!rng_chance (rng, 0.3) || row->nv[k - 1] >= 8 || row->nv[k] >= 8)
        continue;
      t = rng_uniform (rng, 0.35, 0.65);
      u = b->pu[from[k]] + t * (b->pu[to[k]] - b->pu[from[k]]) + rng_uniform (rng, -0.6, 0.6);
      v = b->pv[from[k]] + t * (b->pv[to[k]] - b->pv[from[k]]);
      row->bend[k] = add_point (b, u, v);
      row->nv[k - 1]++;
      row->nv[k]++;
    }
}

static void
layout_block (const City     *city,
              Block          *b,
              const Cell     *cell,
              const CellInfo *info,
              Rng            *rng)
{
  const ZoneKind *zk = &zone_kinds[info->zone];
  Row *ra = &b->rows[0], *rb = &b->rows[1];

  block_frame (city, b, cell->i - city->i0, cell->j - city->j0);
  add_corners (b);

  if (zk->layout == LAYOUT_WHOLE)
    {
      b->n_rows = 0;
      return;
    }

  layout_front_row (b, ra, rng, zk);
  add_fronts (b, ra, rng, 0.0, ra->front);

  if (zk->layout == LAYOUT_TWO_ROWS && b->D >= TWO_ROW_MIN_DEPTH)
    {
      double v_mid = b->D / 2.0 + rng_uniform (rng, -1.5, 1.5);
      guint16 mid_a[MAX_ROW + 1], mid_b[MAX_ROW + 1];

      b->n_rows = 2;
      layout_back_row (b, rng, zk, v_mid);
      add_fronts (b, rb, rng, b->D, rb->front);
      for (guint k = 0; k < ra->n; k++)
        ra->nv[k] = 4 + (ra->back[k + 1] - ra->back[k] - 1);
      for (guint k = 0; k < rb->n; k++)
        rb->nv[k] = 4 + (rb->back[k + 1] - rb->back[k] - 1);
      for (guint k = 0; k <= ra->n; k++)
        mid_a[k] = b->chain[ra->back[k]];
      for (guint k = 0; k <= rb->n; k++)
        mid_b[k] = b->chain[rb->back[k]];
      add_bends (b, ra, rng, ra->front, mid_a);
      add_bends (b, rb, rng, rb->front, mid_b);
    }
  else
    {
      b->n_rows = 1;
      /* the far ends of the same divisions, on the road behind */
      ra->back[0] = b->corner[3];
      for (guint k = 1; k < ra->n; k++)
        ra->back[k] = add_point (b, ra->a[k] + rng_uniform (rng, -0.4, 0.4), b->D);
      ra->back[ra->n] = b->corner[2];
      for (guint k = 0; k < ra->n; k++)
        ra->nv[k] = 4;
      add_bends (b, ra, rng, ra->front, ra->back);
    }
}

/* Point indices of parcel @k of row @r, counter-clockwise; returns the
 * count. */
static guint
parcel_ring (const Block *b,
             guint        r,
             guint        k,
             guint16     *idx)
{
  const Row *row = &b->rows[r];
  guint n = 0;

  if (b->n_rows == 0)
    {
      memcpy (idx, b->corner, sizeof b->corner);
      return 4;
    }
  if (b->n_rows == 1)
    {
      idx[n++] = row->front[k];
      idx[n++] = row->front[k + 1];
      if (row->bend[k + 1] >= 0)
        idx[n++] = row->bend[k + 1];
      idx[n++] = row->back[k + 1];
      idx[n++] = row->back[k];
      if (row->bend[k] >= 0)
        idx[n++] = row->bend[k];
    }
  else if (r == 0)
    {
      idx[n++] = row->front[k];
      idx[n++] = row->front[k + 1];
      if (row->bend[k + 1] >= 0)
        idx[n++] = row->bend[k + 1];
      for (gint c = row->back[k + 1]; c >= row->back[k]; c--)
        idx[n++] = b->chain[c];
      if (row->bend[k] >= 0)
        idx[n++] = row->bend[k];
    }
  else
    {
      for (gint c = row->back[k]; c <= row->back[k + 1]; c++)
        idx[n++] = b->chain[c];
      if (row->bend[k + 1] >= 0)
        idx[n++] = row->bend[k + 1];
      idx[n++] = row->front[k + 1];
      idx[n++] = row->front[k];
      if (row->bend[k] >= 0)
        idx[n++] = row->bend[k];
    }
  g_assert (n >= 4 && n <= 8);
  return n;
}

/* ---- Writing ----------------------------------------------------------- */

typedef enum
{
  PHASE_PARCELS,
  PHASE_OTHER,
  PHASE_INDEX,
} Phase;

typedef struct
{
  GDALDatasetH       ds;
  const char        *path;
  GCancellable      *cancellable;
  DothiProgressFunc  progress;
  gpointer           progress_data;
  gint64             last_report;
  const char        *stage;
  char              *stage_buf;     /* owns a formatted stage */
  guint              n_in_transaction;
  guint              n_since_check;
  gboolean           in_transaction;
  Phase              phase;
  guint              n_parcels, done_parcels;
  guint64            other_estimate, done_other;
  double             index_fraction;
  GString           *gdal_errors;
} Writer;

static void
collect_gdal_error_cb (CPLErr       cls,
                       CPLErrorNum  num,
                       const char  *msg)
{
  GString *errors = CPLGetErrorHandlerUserData ();

  if (cls < CE_Failure)
    return;
  if (errors->len > 0)
    g_string_append (errors, "; ");
  g_string_append (errors, msg);
}

static gboolean
set_gdal_error (Writer      *w,
                const char  *layer,
                GError     **error)
{
  g_autofree char *display = g_filename_display_name (w->path);
  const char *detail = w->gdal_errors->len > 0 ? w->gdal_errors->str : CPLGetLastErrorMsg ();

  if (layer != NULL)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                 /* Translators: layer name, file name, GDAL's message */
                 _("Could not write layer “%s” of the demo city “%s”: %s"),
                 layer, display, detail);
  else
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                 /* Translators: file name, GDAL's message */
                 _("Could not write the demo city “%s”: %s"), display, detail);
  return FALSE;
}

static void
report_progress (Writer   *w,
                 gboolean  force)
{
  gint64 now;
  double fraction;

  if (w->progress == NULL)
    return;
  now = g_get_monotonic_time ();
  if (!force && now - w->last_report < PROGRESS_INTERVAL_US)
    return;
  w->last_report = now;
  switch (w->phase)
    {
    case PHASE_PARCELS:
      fraction = PARCELS_SHARE * w->done_parcels / MAX (w->n_parcels, 1);
      break;
    case PHASE_OTHER:
      fraction = PARCELS_SHARE + (WRITE_SHARE - PARCELS_SHARE)
                 * MIN (1.0, (double) w->done_other / MAX (w->other_estimate, 1));
      break;
    case PHASE_INDEX:
    default:
      fraction = w->index_fraction;
      break;
    }
  w->progress (fraction, w->stage, w->progress_data);
}

static gboolean
check_cancelled (Writer  *w,
                 GError **error)
{
  if (g_cancellable_is_cancelled (w->cancellable))
    {
      g_autofree char *display = g_filename_display_name (w->path);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                   /* Translators: file name */
                   _("Writing the demo city “%s” was cancelled"), display);
      return TRUE;
    }
  return FALSE;
}

/* @long_step: the stage is one call that may take a while, so it is
 * reported even right after another report */
static gboolean
begin_stage (Writer      *w,
             const char  *stage,
             gboolean     long_step,
             GError     **error)
{
  w->stage = stage;
  if (check_cancelled (w, error))
    return FALSE;
  report_progress (w, long_step);
  return TRUE;
}

static gboolean
commit (Writer  *w,
        GError **error)
{
  if (w->in_transaction)
    {
      w->in_transaction = FALSE;
      if (GDALDatasetCommitTransaction (w->ds) != OGRERR_NONE)
        return set_gdal_error (w, NULL, error);
    }
  w->n_in_transaction = 0;
  return TRUE;
}

static gboolean
begin (Writer  *w,
       GError **error)
{
  if (GDALDatasetStartTransaction (w->ds, FALSE) != OGRERR_NONE)
    return set_gdal_error (w, NULL, error);
  w->in_transaction = TRUE;
  return TRUE;
}

/* Writes @feature as a new one (the same handle serves every feature of a
 * layer), commits every BATCH_FEATURES and looks for cancellation every
 * CHECK_EVERY features. */
static gboolean
add_feature (Writer       *w,
             OGRLayerH     layer,
             OGRFeatureH   feature,
             GError      **error)
{
  OGR_F_SetFID (feature, OGRNullFID);
  if (OGR_L_CreateFeature (layer, feature) != OGRERR_NONE)
    return set_gdal_error (w, OGR_L_GetName (layer), error);
  if (w->phase == PHASE_PARCELS)
    w->done_parcels++;
  else
    w->done_other++;
  if (++w->n_in_transaction >= BATCH_FEATURES
      && !(commit (w, error) && begin (w, error)))
    return FALSE;
  if (++w->n_since_check >= CHECK_EVERY)
    {
      w->n_since_check = 0;
      if (check_cancelled (w, error))
        return FALSE;
      report_progress (w, FALSE);
    }
  return TRUE;
}

typedef struct
{
  const char   *name;
  OGRFieldType  type;
} FieldDef;

static OGRLayerH
create_layer (Writer              *w,
              OGRSpatialReferenceH srs,
              const char          *name,
              const char          *title,
              OGRwkbGeometryType   type,
              const FieldDef      *fields,
              guint                n_fields,
              GError             **error)
{
  g_autofree char *identifier = g_strdup_printf ("IDENTIFIER=%s", title);
  char *options[] = {
    (char *) "FID=fid",
    (char *) "GEOMETRY_NAME=geom",
    /* built at the end, layer by layer: see write_indexes() */
    (char *) "SPATIAL_INDEX=NO",
    identifier,
    NULL,
  };
  OGRLayerH layer;

  layer = GDALDatasetCreateLayer (w->ds, name, srs, type, options);
  if (layer == NULL)
    {
      set_gdal_error (w, name, error);
      return NULL;
    }
  for (guint k = 0; k < n_fields; k++)
    {
      OGRFieldDefnH field = OGR_Fld_Create (fields[k].name, fields[k].type);
      OGRErr err = OGR_L_CreateField (layer, field, TRUE);

      OGR_Fld_Destroy (field);
      if (err != OGRERR_NONE)
        {
          set_gdal_error (w, name, error);
          return NULL;
        }
    }
  return layer;
}

/* A reusable feature for @layer with a MULTI geometry of one part. */
static OGRFeatureH
new_feature (OGRLayerH layer)
{
  return OGR_F_Create (OGR_L_GetLayerDefn (layer));
}

static OGRGeometryH
new_multipolygon (void)
{
  OGRGeometryH multi = OGR_G_CreateGeometry (wkbMultiPolygon);
  OGRGeometryH polygon = OGR_G_CreateGeometry (wkbPolygon);

  OGR_G_AddGeometryDirectly (polygon, OGR_G_CreateGeometry (wkbLinearRing));
  OGR_G_AddGeometryDirectly (multi, polygon);
  return multi;
}

static OGRGeometryH
new_multilinestring (void)
{
  OGRGeometryH multi = OGR_G_CreateGeometry (wkbMultiLineString);

  OGR_G_AddGeometryDirectly (multi, OGR_G_CreateGeometry (wkbLineString));
  return multi;
}

static OGRGeometryH
new_multipoint (void)
{
  OGRGeometryH multi = OGR_G_CreateGeometry (wkbMultiPoint);

  OGR_G_AddGeometryDirectly (multi, OGR_G_CreateGeometry (wkbPoint));
  return multi;
}

/* Hands @geometry to @feature for one write and takes it back, so one
 * geometry object serves every feature of a layer. */
static gboolean
add_feature_with (Writer        *w,
                  OGRLayerH      layer,
                  OGRFeatureH    feature,
                  OGRGeometryH  *geometry,
                  GError       **error)
{
  gboolean ok;

  OGR_F_SetGeometryDirectly (feature, *geometry);
  ok = add_feature (w, layer, feature, error);
  *geometry = OGR_F_StealGeometry (feature);
  return ok;
}

/* Sets the single part of a multi-geometry to @n points given in cm. */
static void
set_part_points (OGRGeometryH  multi,
                 const gint64 *e_cm,
                 const gint64 *n_cm,
                 guint         n,
                 gboolean      ring)
{
  double xs[64], ys[64];
  OGRGeometryH part = OGR_G_GetGeometryRef (multi, 0);
  guint m = 0;

  g_assert (n + 1 <= G_N_ELEMENTS (xs));
  if (ring)
    part = OGR_G_GetGeometryRef (part, 0);
  for (guint k = 0; k < n; k++, m++)
    {
      xs[m] = e_cm[k] / 100.0;
      ys[m] = n_cm[k] / 100.0;
    }
  if (ring)
    {
      xs[m] = xs[0];
      ys[m] = ys[0];
      m++;
    }
  OGR_G_SetPoints (part, m, xs, sizeof (double), ys, sizeof (double), NULL, 0);
}

static void
set_point (OGRGeometryH multi,
           gint64       e_cm,
           gint64       n_cm)
{
  OGR_G_SetPoint_2D (OGR_G_GetGeometryRef (multi, 0), 0, e_cm / 100.0, n_cm / 100.0);
}

/* ---- Parcels ----------------------------------------------------------- */

typedef struct
{
  guint so_to;
  guint next_thua;
} Sheet;

typedef struct
{
  OGRLayerH    layer;
  OGRFeatureH  feature;
  OGRGeometryH geometry;
  int          f_so_to, f_so_thua, f_ma_xa, f_ten_chu, f_muc_dich, f_dien_tich, f_dia_chi;
  GHashTable  *sheets;            /* (ward, sheet x, sheet y) -> Sheet */
  guint        ward_sheets[N_WARDS];
  GString     *owner, *address;
} ParcelWriter;

static void
append_person (GString  *s,
               Rng      *rng,
               gboolean  female,
               double    p_ede)
{
  if (rng_chance (rng, p_ede))
    {
      g_string_append (s, female ? "H'" : "Y ");
      g_string_append (s, female ? PICK (rng, ede_female) : PICK (rng, ede_male));
      g_string_append_c (s, ' ');
      g_string_append (s, PICK (rng, ede_clans));
      return;
    }
  g_string_append (s, family_names[rng_weighted (rng, family_weights,
                                                 G_N_ELEMENTS (family_weights))]);
  g_string_append_c (s, ' ');
  g_string_append (s, female ? PICK (rng, female_middle) : PICK (rng, male_middle));
  g_string_append_c (s, ' ');
  g_string_append (s, female ? PICK (rng, female_given) : PICK (rng, male_given));
}

static void
make_owner (GString    *s,
            Rng        *rng,
            Use         use,
            const Ward *ward,
            const char *street)
{
  g_string_truncate (s, 0);
  switch (use)
    {
    case USE_DGD:
      g_string_append_printf (s, "%s %s", PICK (rng, school_kinds), PICK (rng, street_names));
      return;
    case USE_DYT:
      if (rng_chance (rng, 0.7))
        g_string_append_printf (s, "Trạm Y tế %s %s", ward->kind_lower, ward->name);
      else
        g_string_append_printf (s, "Phòng khám Đa khoa %s", street);
      return;
    case USE_TSC:
      g_string_append_printf (s, rng_chance (rng, 0.6) ? "UBND %s %s" : "Công an %s %s",
                              ward->kind_lower, ward->name);
      return;
    case USE_CQP:
      g_string_append (s, "Bộ Chỉ huy Quân sự tỉnh Đắk Lắk");
      return;
    case USE_SKC:
      g_string_append_printf (s, "Công ty Cổ phần %s", PICK (rng, industry_names));
      return;
    case USE_DGT:
    case USE_DKV:
      g_string_append_printf (s, "UBND %s %s", ward->kind_lower, ward->name);
      return;
    case USE_TMD:
      if (rng_chance (rng, 0.25))
        {
          g_string_append_printf (s, "Công ty TNHH %s", PICK (rng, business_names));
          return;
        }
      break;
    case USE_RES:
    case USE_CLN:
    case USE_LUC:
    case USE_BHK:
    case N_USES:
      break;
    }

  {
    double p_ede = ward->urban ? 0.04 : 0.2;
    gboolean female = rng_chance (rng, 0.42);

    append_person (s, rng, female, p_ede);
    if (rng_chance (rng, 0.15))
      {
        g_string_append (s, " và ");
        append_person (s, rng, !female, p_ede);
      }
  }
}

static void
make_address (const City  *city,
              GString     *s,
              const Block *b,
              const Cell  *cell,
              guint        row,
              const Ward  *ward,
              double       along)
{
  g_string_truncate (s, 0);
  if (ward->urban)
    {
      const char *street;
      guint number = (guint) MAX (0.0, floor ((along + city->radius) / 9.0));
      gboolean odd;

      /* even numbers on the north and west sides of a street */
      if (b->long_x)
        {
          street = row == 0 ? city->hname[b->l] : city->hname[b->l + 1];
          odd = row != 0;
        }
      else
        {
          street = row == 0 ? city->vname[b->k + 1] : city->vname[b->k];
          odd = row == 0;
        }
      g_string_append_printf (s, "%u %s, ", 2 * number + (odd ? 1 : 2), street);
    }
  else
    {
      Rng rng;

      rng_init (&rng, city->seed, STREAM_CLUSTER,
                floor_div (cell->i, 8), floor_div (cell->j, 8) + 1000003);
      if (rng_chance (&rng, 0.25))
        g_string_append_printf (s, "%s, ", PICK (&rng, ede_villages));
      else
        g_string_append_printf (s, "Thôn %u, ", 1 + rng_below (&rng, 15));
    }
  g_string_append_printf (s, "%s %s, tỉnh Đắk Lắk", ward->kind, ward->name);
}

static Sheet *
find_sheet (ParcelWriter *pw,
            guint         ward,
            double        x,
            double        y)
{
  gint64 sx = (gint64) floor (x / SHEET_SIZE) + (1 << 20);
  gint64 sy = (gint64) floor (y / SHEET_SIZE) + (1 << 20);
  gint64 key = ((gint64) ward << 48) | (sx << 24) | sy;
  Sheet *sheet = g_hash_table_lookup (pw->sheets, &key);

  if (sheet == NULL)
    {
      gint64 *k = g_new (gint64, 1);

      *k = key;
      sheet = g_new0 (Sheet, 1);
      sheet->so_to = ++pw->ward_sheets[ward];
      g_hash_table_insert (pw->sheets, k, sheet);
    }
  return sheet;
}

static gboolean
write_parcel (Writer          *w,
              ParcelWriter    *pw,
              const City      *city,
              const Block     *b,
              const Cell      *cell,
              const CellInfo  *info,
              Rng             *rng,
              guint            r,
              guint            k,
              GError         **error)
{
  const Ward *ward = &wards[info->ward];
  guint16 idx[8];
  gint64 e[8], n[8];
  guint nv = parcel_ring (b, r, k, idx);
  gint64 twice_area = 0;
  Use use = b->n_rows == 0 ? zone_kinds[info->zone].whole_use : b->rows[r].use[k];
  const char *code;
  const char *street;
  double x, y, fx, fy;
  Sheet *sheet;

  for (guint v = 0; v < nv; v++)
    {
      e[v] = b->pe[idx[v]];
      n[v] = b->pn[idx[v]];
    }
  /* shoelace in whole centimetres: exact */
  for (guint v = 0; v < nv; v++)
    {
      guint u = (v + 1) % nv;
      twice_area += (e[v] - e[0]) * (n[u] - n[0]) - (e[u] - e[0]) * (n[v] - n[0]);
    }
  g_assert (twice_area > 0);

  code = use == USE_RES ? (ward->urban ? "ODT" : "ONT") : use_codes[use];
  /* the parcel's front, for the sheet and the house number */
  block_to_city (b, b->pu[idx[0]], b->pv[idx[0]], &x, &y);
  if (b->n_rows != 0)
    {
      const Row *row = &b->rows[r];
      double mid = (row->a[k] + row->a[k + 1]) / 2.0;

      block_to_city (b, mid, r == 0 ? 0.0 : b->D, &fx, &fy);
    }
  else
    block_to_city (b, b->L / 2.0, 0.0, &fx, &fy);
  sheet = find_sheet (pw, info->ward, x, y);
  street = b->long_x ? city->hname[b->l] : city->vname[b->k + 1];

  make_owner (pw->owner, rng, use, ward, street);
  make_address (city, pw->address, b, cell, b->n_rows == 2 ? r : 0, ward,
                b->long_x ? fx : fy);

  OGR_F_SetFieldInteger (pw->feature, pw->f_so_to, sheet->so_to);
  OGR_F_SetFieldInteger (pw->feature, pw->f_so_thua, ++sheet->next_thua);
  OGR_F_SetFieldString (pw->feature, pw->f_ma_xa, ward->code);
  OGR_F_SetFieldString (pw->feature, pw->f_ten_chu, pw->owner->str);
  OGR_F_SetFieldString (pw->feature, pw->f_muc_dich, code);
  /* area to 0.1 m², 1 000 cm² */
  OGR_F_SetFieldDouble (pw->feature, pw->f_dien_tich, ((twice_area + 1000) / 2000) / 10.0);
  OGR_F_SetFieldString (pw->feature, pw->f_dia_chi, pw->address->str);
  set_part_points (pw->geometry, e, n, nv, TRUE);
  return add_feature_with (w, pw->layer, pw->feature, &pw->geometry, error);
}

static gboolean
write_parcels (Writer     *w,
               City       *city,
               OGRLayerH   layer,
               guint       n_parcels,
               GError    **error)
{
  g_autofree Block *b = g_new (Block, 1);
  g_autoptr(GHashTable) sheets = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                         g_free, g_free);
  g_autoptr(GString) owner = g_string_new (NULL);
  g_autoptr(GString) address = g_string_new (NULL);
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  ParcelWriter pw = {
    .layer = layer,
    .sheets = sheets,
    .owner = owner,
    .address = address,
    .f_so_to = OGR_FD_GetFieldIndex (defn, "so_to"),
    .f_so_thua = OGR_FD_GetFieldIndex (defn, "so_thua"),
    .f_ma_xa = OGR_FD_GetFieldIndex (defn, "ma_xa"),
    .f_ten_chu = OGR_FD_GetFieldIndex (defn, "ten_chu"),
    .f_muc_dich = OGR_FD_GetFieldIndex (defn, "muc_dich"),
    .f_dien_tich = OGR_FD_GetFieldIndex (defn, "dien_tich"),
    .f_dia_chi = OGR_FD_GetFieldIndex (defn, "dia_chi"),
  };
  g_auto(OGRFeatureH) feature = new_feature (layer);
  g_auto(OGRGeometryH) geometry = new_multipolygon ();
  gboolean ok = TRUE;
  guint written = 0;

  pw.feature = feature;
  pw.geometry = geometry;
  for (guint c = 0; ok && written < n_parcels; c++)
    {
      const Cell *cell;
      CellInfo *info;
      Rng rng;

      if (c >= city->n_cells)
        {
          g_autofree char *display = g_filename_display_name (w->path);

          /* never happens: the grid has room for the sparsest city */
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                       /* Translators: file name */
                       _("Could not lay out the demo city “%s”: the grid is too small"),
                       display);
          ok = FALSE;
          break;
        }
      cell = &city->cells[c];
      info = &city->info[c];
      choose_zone (city, cell, info);
      city->order[(gsize) (cell->i - city->i0) * city->nj + (cell->j - city->j0)] = c;
      city->n_used = c + 1;

      rng_init (&rng, city->seed, STREAM_BLOCK, cell->i, cell->j);
      rng_next (&rng);  /* the draw that chose the zone */
      layout_block (city, b, cell, info, &rng);

      if (b->n_rows == 0)
        {
          ok = write_parcel (w, &pw, city, b, cell, info, &rng, 0, 0, error);
          written++;
          continue;
        }
      for (guint r = 0; ok && r < b->n_rows; r++)
        for (guint k = 0; ok && k < b->rows[r].n && written < n_parcels; k++)
          {
            ok = write_parcel (w, &pw, city, b, cell, info, &rng, r, k, error);
            written++;
          }
    }
  /* the feature owned the geometry between writes */
  geometry = pw.geometry;
  return ok;
}

/* ---- Zoning ------------------------------------------------------------ */

static gboolean
write_zoning (Writer     *w,
              const City *city,
              OGRLayerH   layer,
              GError    **error)
{
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int f_ma_khu = OGR_FD_GetFieldIndex (defn, "ma_khu");
  int f_chuc_nang = OGR_FD_GetFieldIndex (defn, "chuc_nang");
  int f_mat_do = OGR_FD_GetFieldIndex (defn, "mat_do_xd");
  int f_tang_cao = OGR_FD_GetFieldIndex (defn, "tang_cao");
  g_auto(OGRFeatureH) feature = new_feature (layer);
  g_auto(OGRGeometryH) geometry = new_multipolygon ();
  g_autofree Block *b = g_new (Block, 1);
  guint counters[N_ZONES] = { 0 };
  gboolean ok = TRUE;

  for (guint c = 0; ok && c < city->n_used; c++)
    {
      const Cell *cell = &city->cells[c];
      const CellInfo *info = &city->info[c];
      const ZoneKind *zk = &zone_kinds[info->zone];
      char code[32];
      gint64 e[4], n[4];

      block_frame (city, b, cell->i - city->i0, cell->j - city->j0);
      add_corners (b);
      for (guint v = 0; v < 4; v++)
        {
          e[v] = b->pe[b->corner[v]];
          n[v] = b->pn[b->corner[v]];
        }
      g_snprintf (code, sizeof code, "%s-%03u", zk->code, ++counters[info->zone]);
      OGR_F_SetFieldString (feature, f_ma_khu, code);
      OGR_F_SetFieldString (feature, f_chuc_nang, zk->function);
      OGR_F_SetFieldInteger (feature, f_mat_do, zk->density);
      OGR_F_SetFieldInteger (feature, f_tang_cao, zk->floors);
      set_part_points (geometry, e, n, 4, TRUE);
      ok = add_feature_with (w, layer, feature, &geometry, error);
    }
  return ok;
}

/* ---- Edges and nodes of the street grid -------------------------------- */

typedef struct
{
  gint32  k, l;        /* start node */
  guint8  horizontal;  /* runs to (k + 1, l), else to (k, l + 1) */
  guint8  ring;
  guint8  zone;
} Edge;

/* Every street segment between two crossings that borders a used cell,
 * once, in the order of the cells. */
static GArray *
collect_edges (const City *city)
{
  GArray *edges = g_array_sized_new (FALSE, FALSE, sizeof (Edge), city->n_used * 2 + 16);

  for (guint c = 0; c < city->n_used; c++)
    {
      const Cell *cell = &city->cells[c];
      gint k = cell->i - city->i0, l = cell->j - city->j0;
      Edge e = { k, l, TRUE, city->info[c].ring, city->info[c].zone };

      g_array_append_val (edges, e);           /* bottom */
      e.horizontal = FALSE;
      g_array_append_val (edges, e);           /* left */
      if (city_cell_at (city, k, l + 1) < 0)
        {
          e.horizontal = TRUE;
          e.l = l + 1;
          g_array_append_val (edges, e);       /* top */
        }
      if (city_cell_at (city, k + 1, l) < 0)
        {
          e.horizontal = FALSE;
          e.k = k + 1;
          e.l = l;
          g_array_append_val (edges, e);       /* right */
        }
    }
  return edges;
}

static inline RoadClass
edge_class (const City *city,
            const Edge *e)
{
  return e->horizontal ? city->hclass[e->l] : city->vclass[e->k];
}

static inline const char *
edge_name (const City *city,
           const Edge *e)
{
  return e->horizontal ? city->hname[e->l] : city->vname[e->k];
}

static inline double
edge_width (const City *city,
            const Edge *e)
{
  return e->horizontal ? city->hwidth[e->l] : city->vwidth[e->k];
}

static gboolean
write_roads (Writer     *w,
             const City *city,
             GArray     *edges,
             OGRLayerH   layer,
             GError    **error)
{
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int f_ten = OGR_FD_GetFieldIndex (defn, "ten_duong");
  int f_cap = OGR_FD_GetFieldIndex (defn, "cap");
  int f_rong = OGR_FD_GetFieldIndex (defn, "rong_m");
  g_auto(OGRFeatureH) feature = new_feature (layer);
  g_auto(OGRGeometryH) geometry = new_multilinestring ();
  gboolean ok = TRUE;

  for (guint x = 0; ok && x < edges->len; x++)
    {
      const Edge *edge = &g_array_index (edges, Edge, x);
      RoadClass cls = edge_class (city, edge);
      const char *cap;
      gint64 e[2], n[2];

      if (cls == ROAD_ARTERIAL)
        cap = "Đường chính đô thị";
      else if (edge->ring == RING_RURAL)
        cap = "Đường giao thông nông thôn";
      else if (cls == ROAD_DISTRICT)
        cap = "Đường chính khu vực";
      else
        cap = "Đường nội bộ";

      city_frame_to_world (city->xs[edge->k], city->ys[edge->l], &e[0], &n[0]);
      city_frame_to_world (city->xs[edge->k + edge->horizontal],
                           city->ys[edge->l + !edge->horizontal], &e[1], &n[1]);
      OGR_F_SetFieldString (feature, f_ten, edge_name (city, edge));
      OGR_F_SetFieldString (feature, f_cap, cap);
      OGR_F_SetFieldDouble (feature, f_rong, edge_width (city, edge));
      set_part_points (geometry, e, n, 2, FALSE);
      ok = add_feature_with (w, layer, feature, &geometry, error);
    }
  return ok;
}

typedef struct
{
  gint64      e, n;        /* cm */
  const char *kind;
  char       *name;
} Sensor;

static void
sensor_clear (gpointer data)
{
  Sensor *s = data;

  g_free (s->name);
}

/* Mains run 2 m inside the kerb on the east and north sides, so the
 * mains of crossing streets meet at one node. */
static void
main_node (const City *city,
           gint        k,
           gint        l,
           double     *x,
           double     *y)
{
  *x = city->xs[k] + city->vwidth[k] / 2.0 - 2.0;
  *y = city->ys[l] + city->hwidth[l] / 2.0 - 2.0;
}

static gboolean
write_water (Writer     *w,
             const City *city,
             GArray     *edges,
             OGRLayerH   mains,
             OGRLayerH   valves,
             GArray     *sensors,
             GError    **error)
{
  OGRFeatureDefnH mdefn = OGR_L_GetLayerDefn (mains);
  OGRFeatureDefnH vdefn = OGR_L_GetLayerDefn (valves);
  int f_ma_ong = OGR_FD_GetFieldIndex (mdefn, "ma_ong");
  int f_dk = OGR_FD_GetFieldIndex (mdefn, "duong_kinh_mm");
  int f_vat_lieu = OGR_FD_GetFieldIndex (mdefn, "vat_lieu");
  int f_nam = OGR_FD_GetFieldIndex (mdefn, "nam_lap");
  int f_ma_van = OGR_FD_GetFieldIndex (vdefn, "ma_van");
  int f_loai = OGR_FD_GetFieldIndex (vdefn, "loai");
  int f_trang_thai = OGR_FD_GetFieldIndex (vdefn, "trang_thai");
  int f_vdk = OGR_FD_GetFieldIndex (vdefn, "duong_kinh_mm");
  g_auto(OGRFeatureH) mfeature = new_feature (mains);
  g_auto(OGRFeatureH) vfeature = new_feature (valves);
  g_auto(OGRGeometryH) line = new_multilinestring ();
  g_auto(OGRGeometryH) point = new_multipoint ();
  guint n_mains = 0, n_valves = 0;
  gboolean ok = TRUE;

  for (guint x = 0; ok && x < edges->len; x++)
    {
      const Edge *edge = &g_array_index (edges, Edge, x);
      RoadClass cls = edge_class (city, edge);
      double x0, y0, x1, y1, len, dx, dy;
      gint64 e[4], n[4];
      guint nv = 0;
      guint diameter;
      const char *material;
      guint year;
      char id[32];
      Rng rng;

      if (edge->ring == RING_RURAL && cls != ROAD_ARTERIAL)
        continue;
      rng_init (&rng, city->seed, STREAM_EDGE, edge->k * 2 + edge->horizontal, edge->l);

      if (cls == ROAD_ARTERIAL)
        {
          static const guint core[] = { 500, 600, 400 };
          diameter = edge->ring == RING_CORE ? PICK (&rng, core)
                     : edge->ring == RING_SUBURB ? 400 : 300;
        }
      else if (cls == ROAD_DISTRICT)
        diameter = rng_chance (&rng, 0.5) ? 250 : 200;
      else
        diameter = rng_chance (&rng, 0.6) ? 150 : 100;
      if (diameter >= 300)
        material = "Gang dẻo";
      else if (diameter >= 200)
        material = rng_chance (&rng, 0.5) ? "Gang dẻo" : "HDPE";
      else
        material = rng_chance (&rng, 0.6) ? "HDPE" : "PVC";
      if (strcmp (material, "PVC") == 0)
        year = 1995 + rng_below (&rng, 14);
      else if (edge->ring == RING_CORE)
        year = 1998 + rng_below (&rng, 18);
      else if (edge->ring == RING_SUBURB)
        year = 2008 + rng_below (&rng, 15);
      else
        year = 2015 + rng_below (&rng, 10);

      main_node (city, edge->k, edge->l, &x0, &y0);
      main_node (city, edge->k + edge->horizontal, edge->l + !edge->horizontal, &x1, &y1);
      dx = x1 - x0;
      dy = y1 - y0;
      len = sqrt (dx * dx + dy * dy);
      /* start node, a vertex 3 m on for a valve by the crossing, a middle
       * vertex on long mains for a drain or air valve, end node */
      city_frame_to_world (x0, y0, &e[nv], &n[nv]);
      nv++;
      city_frame_to_world (x0 + 3.0 * dx / len, y0 + 3.0 * dy / len, &e[nv], &n[nv]);
      nv++;
      if (len > 90.0)
        {
          city_frame_to_world (x0 + dx / 2.0, y0 + dy / 2.0, &e[nv], &n[nv]);
          nv++;
        }
      city_frame_to_world (x1, y1, &e[nv], &n[nv]);
      nv++;

      g_snprintf (id, sizeof id, "CN-%06u", ++n_mains);
      OGR_F_SetFieldString (mfeature, f_ma_ong, id);
      OGR_F_SetFieldInteger (mfeature, f_dk, diameter);
      OGR_F_SetFieldString (mfeature, f_vat_lieu, material);
      OGR_F_SetFieldInteger (mfeature, f_nam, year);
      set_part_points (line, e, n, nv, FALSE);
      if (!add_feature_with (w, mains, mfeature, &line, error))
        return FALSE;

      for (guint v = 1; ok && v + 1 < nv; v++)
        {
          const char *kind = NULL, *state = "mở";

          if (v == 1 && rng_chance (&rng, 0.55))
            {
              kind = cls == ROAD_ARTERIAL && rng_chance (&rng, 0.08)
                     ? "Van giảm áp" : "Van chặn";
              if (rng_chance (&rng, 0.04))
                state = "đóng";
            }
          else if (v == 2 && rng_chance (&rng, 0.25))
            {
              if (rng_chance (&rng, 0.6))
                {
                  kind = "Van xả";
                  state = "đóng";  /* drains are kept shut */
                }
              else
                kind = "Van xả khí";
            }
          if (kind == NULL)
            continue;
          g_snprintf (id, sizeof id, "VN-%06u", ++n_valves);
          OGR_F_SetFieldString (vfeature, f_ma_van, id);
          OGR_F_SetFieldString (vfeature, f_loai, kind);
          OGR_F_SetFieldString (vfeature, f_trang_thai, state);
          OGR_F_SetFieldInteger (vfeature, f_vdk, diameter);
          set_point (point, e[v], n[v]);
          ok = add_feature_with (w, valves, vfeature, &point, error);
        }

      if (rng_chance (&rng, 0.04))
        {
          Sensor s = { e[0], n[0], "Áp lực nước", NULL };

          s.name = g_strdup_printf ("Áp lực nước nút %s – %s",
                                    city->vname[edge->k], city->hname[edge->l]);
          g_array_append_val (sensors, s);
        }
    }
  return ok;
}

static gboolean
write_power (Writer     *w,
             const City *city,
             GArray     *edges,
             OGRLayerH   layer,
             GError    **error)
{
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int f_ma = OGR_FD_GetFieldIndex (defn, "ma_tuyen");
  int f_kv = OGR_FD_GetFieldIndex (defn, "cap_dien_ap_kv");
  int f_ten = OGR_FD_GetFieldIndex (defn, "ten");
  g_auto(OGRFeatureH) feature = new_feature (layer);
  g_auto(OGRGeometryH) line = new_multilinestring ();
  guint spans[8] = { 0 };
  guint n_low = 0;
  gboolean ok = TRUE;
  g_autofree char *name = NULL;
  char id[32];
  double reach = 0.0;

  for (guint x = 0; ok && x < edges->len; x++)
    {
      const Edge *edge = &g_array_index (edges, Edge, x);
      RoadClass cls = edge_class (city, edge);
      double x0, y0, x1, y1;
      gint64 e[2], n[2];
      gint k1 = edge->k + edge->horizontal, l1 = edge->l + !edge->horizontal;

      /* poles 1.5 m inside the kerb on the west and south sides */
      x0 = city->xs[edge->k] - city->vwidth[edge->k] / 2.0 + 1.5;
      y0 = city->ys[edge->l] - city->hwidth[edge->l] / 2.0 + 1.5;
      x1 = city->xs[k1] - city->vwidth[k1] / 2.0 + 1.5;
      y1 = city->ys[l1] - city->hwidth[l1] / 2.0 + 1.5;
      reach = MAX (reach, sqrt (x0 * x0 + y0 * y0));

      g_clear_pointer (&name, g_free);
      if (cls != ROAD_LOCAL)
        {
          /* eight 22 kV feeders, 471 to 478, one per octant */
          guint feeder = 471 + octant_of (city->xs[edge->k], city->ys[edge->l]);

          g_snprintf (id, sizeof id, "%u-%05u", feeder, ++spans[feeder - 471]);
          name = g_strdup_printf ("Lộ %u – %s", feeder, edge_name (city, edge));
          OGR_F_SetFieldDouble (feature, f_kv, 22.0);
        }
      else if (edge->ring != RING_RURAL || edge->zone == ZONE_NT)
        {
          g_snprintf (id, sizeof id, "HT-%06u", ++n_low);
          name = g_strdup_printf ("Hạ thế %s", edge_name (city, edge));
          OGR_F_SetFieldDouble (feature, f_kv, 0.4);
        }
      else
        continue;
      city_frame_to_world (x0, y0, &e[0], &n[0]);
      city_frame_to_world (x1, y1, &e[1], &n[1]);
      OGR_F_SetFieldString (feature, f_ma, id);
      OGR_F_SetFieldString (feature, f_ten, name);
      set_part_points (line, e, n, 2, FALSE);
      ok = add_feature_with (w, layer, feature, &line, error);
    }

  /* 110 kV lines from the substation south-east of the centre out past
   * the edge of the city, a tower every 280 m or more */
  {
    static const struct { double dx, dy; const char *to; } lines[] = {
      { 0.94, 0.34, "Krông Búk" },
      { -0.87, 0.50, "Buôn Đôn" },
      { -0.17, -0.98, "Krông Ana" },
    };
    double sx = 0.3 * city->radius, sy = -0.25 * city->radius;

    for (guint t = 0; ok && t < G_N_ELEMENTS (lines); t++)
      {
        double norm = sqrt (lines[t].dx * lines[t].dx + lines[t].dy * lines[t].dy);
        double ux = lines[t].dx / norm, uy = lines[t].dy / norm;
        gint64 e[48], n[48];
        guint nv = 0;
        double step = MAX (280.0, (reach + 400.0) / 40.0);
        Rng rng;

        rng_init (&rng, city->seed, STREAM_POWER, t, 0);
        for (double s = 0.0; nv < G_N_ELEMENTS (e); s += step)
          {
            double off = nv == 0 ? 0.0 : rng_uniform (&rng, -8.0, 8.0);
            double px = sx + s * ux - off * uy, py = sy + s * uy + off * ux;

            city_frame_to_world (px, py, &e[nv], &n[nv]);
            nv++;
            if (px * px + py * py > (reach + 300.0) * (reach + 300.0))
              break;
          }
        g_snprintf (id, sizeof id, "110-%02u", t + 1);
        g_clear_pointer (&name, g_free);
        name = g_strdup_printf ("Đường dây 110 kV Buôn Ma Thuột – %s", lines[t].to);
        OGR_F_SetFieldString (feature, f_ma, id);
        OGR_F_SetFieldDouble (feature, f_kv, 110.0);
        OGR_F_SetFieldString (feature, f_ten, name);
        set_part_points (line, e, n, nv, FALSE);
        ok = add_feature_with (w, layer, feature, &line, error);
      }
  }
  return ok;
}

static void
collect_node_sensors (const City *city,
                      GArray     *sensors)
{
  g_autofree Block *b = g_new (Block, 1);
  guint n_lakes = 0;

  for (guint c = 0; c < city->n_used; c++)
    {
      const Cell *cell = &city->cells[c];
      const CellInfo *info = &city->info[c];
      gint k = cell->i - city->i0, l = cell->j - city->j0;
      Sensor s = { 0 };
      Rng rng;

      rng_init (&rng, city->seed, STREAM_NODE, cell->i, cell->j);
      city_frame_to_world (city->xs[k], city->ys[l], &s.e, &s.n);
      if (city->vclass[k] == ROAD_ARTERIAL && city->hclass[l] == ROAD_ARTERIAL
          && rng_chance (&rng, 0.6))
        {
          s.kind = "Chất lượng không khí";
          s.name = g_strdup_printf ("Quan trắc không khí %s – %s",
                                    city->vname[k], city->hname[l]);
          g_array_append_val (sensors, s);
        }
      else if (info->ring != RING_RURAL && rng_chance (&rng, 0.03))
        {
          s.kind = "Ngập úng";
          s.name = g_strdup_printf ("Điểm đo ngập %s – %s",
                                    city->vname[k], city->hname[l]);
          g_array_append_val (sensors, s);
        }
      if (info->zone == ZONE_CX && rng_chance (&rng, 0.4))
        {
          double x, y;

          block_frame (city, b, k, l);
          block_to_city (b, b->L / 2.0, b->D / 2.0, &x, &y);
          city_frame_to_world (x, y, &s.e, &s.n);
          s.kind = "Mực nước";
          s.name = g_strdup_printf ("Mực nước hồ điều hòa số %u", ++n_lakes);
          g_array_append_val (sensors, s);
        }
    }
}

static gboolean
write_sensors (Writer   *w,
               GArray   *sensors,
               OGRLayerH layer,
               GError  **error)
{
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  int f_ma = OGR_FD_GetFieldIndex (defn, "ma_tram");
  int f_loai = OGR_FD_GetFieldIndex (defn, "loai");
  int f_ten = OGR_FD_GetFieldIndex (defn, "ten");
  g_auto(OGRFeatureH) feature = new_feature (layer);
  g_auto(OGRGeometryH) point = new_multipoint ();
  static const struct { const char *kind, *prefix; } prefixes[] = {
    { "Áp lực nước", "AL" },
    { "Mực nước", "MN" },
    { "Chất lượng không khí", "KK" },
    { "Ngập úng", "NU" },
  };
  guint counters[G_N_ELEMENTS (prefixes)] = { 0 };
  gboolean ok = TRUE;

  for (guint x = 0; ok && x < sensors->len; x++)
    {
      const Sensor *s = &g_array_index (sensors, Sensor, x);
      char id[32];
      guint p = 0;

      while (strcmp (prefixes[p].kind, s->kind) != 0)
        p++;
      g_snprintf (id, sizeof id, "%s-%04u", prefixes[p].prefix, ++counters[p]);
      OGR_F_SetFieldString (feature, f_ma, id);
      OGR_F_SetFieldString (feature, f_loai, s->kind);
      OGR_F_SetFieldString (feature, f_ten, s->name);
      set_point (point, s->e, s->n);
      ok = add_feature_with (w, layer, feature, &point, error);
    }
  return ok;
}

/* ---- The whole file ---------------------------------------------------- */

enum
{
  LAYER_PARCELS,
  LAYER_ZONING,
  LAYER_ROADS,
  LAYER_MAINS,
  LAYER_VALVES,
  LAYER_POWER,
  LAYER_SENSORS,
  N_LAYERS
};

static const FieldDef parcel_fields[] = {
  { "so_to", OFTInteger },
  { "so_thua", OFTInteger },
  { "ma_xa", OFTString },
  { "ten_chu", OFTString },
  { "muc_dich", OFTString },
  { "dien_tich", OFTReal },
  { "dia_chi", OFTString },
};
static const FieldDef zoning_fields[] = {
  { "ma_khu", OFTString },
  { "chuc_nang", OFTString },
  { "mat_do_xd", OFTInteger },
  { "tang_cao", OFTInteger },
};
static const FieldDef road_fields[] = {
  { "ten_duong", OFTString },
  { "cap", OFTString },
  { "rong_m", OFTReal },
};
static const FieldDef main_fields[] = {
  { "ma_ong", OFTString },
  { "duong_kinh_mm", OFTInteger },
  { "vat_lieu", OFTString },
  { "nam_lap", OFTInteger },
};
static const FieldDef valve_fields[] = {
  { "ma_van", OFTString },
  { "loai", OFTString },
  { "trang_thai", OFTString },
  { "duong_kinh_mm", OFTInteger },
};
static const FieldDef power_fields[] = {
  { "ma_tuyen", OFTString },
  { "cap_dien_ap_kv", OFTReal },
  { "ten", OFTString },
};
static const FieldDef sensor_fields[] = {
  { "ma_tram", OFTString },
  { "loai", OFTString },
  { "ten", OFTString },
};

static const struct
{
  const char         *name;
  const char         *title;   /* the file's own, Vietnamese, title */
  OGRwkbGeometryType  type;
  const FieldDef     *fields;
  guint               n_fields;
} layer_defs[N_LAYERS] = {
#define FIELDS(f) f, G_N_ELEMENTS (f)
  { "parcels", "Thửa đất", wkbMultiPolygon, FIELDS (parcel_fields) },
  { "zoning", "Quy hoạch phân khu", wkbMultiPolygon, FIELDS (zoning_fields) },
  { "roads", "Đường giao thông", wkbMultiLineString, FIELDS (road_fields) },
  { "water_mains", "Ống cấp nước", wkbMultiLineString, FIELDS (main_fields) },
  { "water_valves", "Van nước", wkbMultiPoint, FIELDS (valve_fields) },
  { "power_lines", "Đường dây điện", wkbMultiLineString, FIELDS (power_fields) },
  { "sensor_stations", "Trạm quan trắc", wkbMultiPoint, FIELDS (sensor_fields) },
#undef FIELDS
};

/* GDAL would build the R-trees when the file is closed, which takes long
 * (GDAL 3.6, 1M parcels: 10 s) with neither progress nor a way to cancel;
 * one statement per layer allows both between layers. */
static gboolean
write_indexes (Writer     *w,
               OGRLayerH  *layers,
               GError    **error)
{
  guint64 counts[N_LAYERS];
  guint64 total = 0, done = 0;

  w->phase = PHASE_INDEX;
  for (guint t = 0; t < N_LAYERS; t++)
    {
      counts[t] = (guint64) MAX (0, OGR_L_GetFeatureCount (layers[t], TRUE));
      total += counts[t] + 1;
    }
  for (guint t = 0; t < N_LAYERS; t++)
    {
      /* layer names are the constant ASCII identifiers of layer_defs */
      g_autofree char *sql = g_strdup_printf ("SELECT CreateSpatialIndex('%s', 'geom')",
                                              layer_defs[t].name);
      OGRLayerH result;

      g_free (w->stage_buf);
      /* Translators: progress while the spatial index of a layer is built;
       * the layer name */
      w->stage_buf = g_strdup_printf (_("Indexing layer “%s”"), layer_defs[t].name);
      w->index_fraction = WRITE_SHARE + (1.0 - WRITE_SHARE) * done / total;
      if (!begin_stage (w, w->stage_buf, counts[t] >= 20000, error))
        return FALSE;
      result = GDALDatasetExecuteSQL (w->ds, sql, NULL, NULL);
      if (result != NULL)
        GDALDatasetReleaseResultSet (w->ds, result);
      if (w->gdal_errors->len > 0)
        return set_gdal_error (w, layer_defs[t].name, error);
      done += counts[t] + 1;
    }
  return TRUE;
}

static gboolean
write_city (Writer  *w,
            guint    n_parcels,
            guint32  seed,
            GError **error)
{
  g_auto(OGRSpatialReferenceH) srs = OSRNewSpatialReference (NULL);
  g_autoptr(City) city = NULL;
  g_autoptr(GArray) edges = NULL;
  g_autoptr(GArray) sensors = NULL;
  OGRLayerH layers[N_LAYERS];

  if (OSRImportFromEPSG (srs, SPATIAL_REF_EPSG) != OGRERR_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: an EPSG code */
                   _("The coordinate reference system EPSG:%d is unknown to PROJ"),
                   SPATIAL_REF_EPSG);
      return FALSE;
    }
  OSRSetAxisMappingStrategy (srs, OAMS_TRADITIONAL_GIS_ORDER);
  for (guint t = 0; t < N_LAYERS; t++)
    {
      layers[t] = create_layer (w, srs, layer_defs[t].name, layer_defs[t].title,
                                layer_defs[t].type, layer_defs[t].fields,
                                layer_defs[t].n_fields, error);
      if (layers[t] == NULL)
        return FALSE;
    }
  city = city_new (seed, n_parcels);

  if (!begin (w, error)
      /* Translators: progress while the demo city is written */
      || !begin_stage (w, _("Writing parcels"), FALSE, error)
      || !write_parcels (w, city, layers[LAYER_PARCELS], n_parcels, error))
    return FALSE;

  edges = collect_edges (city);
  sensors = g_array_new (FALSE, TRUE, sizeof (Sensor));
  g_array_set_clear_func (sensors, sensor_clear);
  w->phase = PHASE_OTHER;
  /* zones, roads, mains, valves (about one in two mains), power lines */
  w->other_estimate = city->n_used + edges->len * 3 + edges->len / 2;

  /* Translators: progress while the demo city is written */
  if (!begin_stage (w, _("Writing zoning"), FALSE, error)
      || !write_zoning (w, city, layers[LAYER_ZONING], error)
      /* Translators: progress while the demo city is written */
      || !begin_stage (w, _("Writing roads"), FALSE, error)
      || !write_roads (w, city, edges, layers[LAYER_ROADS], error)
      /* Translators: progress while the demo city is written */
      || !begin_stage (w, _("Writing water mains and valves"), FALSE, error)
      || !write_water (w, city, edges, layers[LAYER_MAINS], layers[LAYER_VALVES],
                       sensors, error)
      /* Translators: progress while the demo city is written */
      || !begin_stage (w, _("Writing power lines"), FALSE, error)
      || !write_power (w, city, edges, layers[LAYER_POWER], error)
      /* Translators: progress while the demo city is written */
      || !begin_stage (w, _("Writing sensor stations"), FALSE, error))
    return FALSE;
  collect_node_sensors (city, sensors);
  if (!write_sensors (w, sensors, layers[LAYER_SENSORS], error)
      || !commit (w, error))
    return FALSE;
  return write_indexes (w, layers, error);
}

static void
remove_partial (const char *path)
{
  static const char * const suffixes[] = { "", "-journal", "-wal", "-shm" };

  for (guint k = 0; k < G_N_ELEMENTS (suffixes); k++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[k], NULL);

      g_unlink (file);
    }
}

gboolean
dothi_demo_city_write (const char        *path,
                       guint              n_parcels,
                       guint32            seed,
                       DothiProgressFunc  progress,
                       gpointer           progress_data,
                       GCancellable      *cancellable,
                       GError           **error)
{
  g_autoptr(GString) gdal_errors = g_string_new (NULL);
  g_autofree char *display = NULL;
  GDALDriverH driver;
  GStatBuf st;
  Writer w = {
    .path = path,
    .cancellable = cancellable,
    .progress = progress,
    .progress_data = progress_data,
    .n_parcels = n_parcels,
    .gdal_errors = gdal_errors,
  };
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (n_parcels > 0, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);
  if (g_lstat (path, &st) == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   /* Translators: file name */
                   _("Will not write the demo city: “%s” already exists"), display);
      return FALSE;
    }
  /* Translators: progress, the first step of writing the demo city */
  w.stage = _("Laying out the city blocks");
  if (check_cancelled (&w, error))
    return FALSE;
  report_progress (&w, TRUE);

  if (GDALGetDriverByName ("GPKG") == NULL)
    GDALAllRegister ();
  driver = GDALGetDriverByName ("GPKG");
  if (driver == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: file name */
                   _("Cannot write the demo city “%s”: GDAL has no GeoPackage driver"),
                   display);
      return FALSE;
    }

  CPLPushErrorHandlerEx (collect_gdal_error_cb, gdal_errors);
  w.ds = GDALCreate (driver, path, 0, 0, 0, GDT_Unknown, NULL);
  if (w.ds == NULL)
    {
      CPLPopErrorHandler ();
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: file name, GDAL's message */
                   _("Could not create the demo city “%s”: %s"), display,
                   gdal_errors->len > 0 ? gdal_errors->str : CPLGetLastErrorMsg ());
      return FALSE;
    }

  ok = write_city (&w, n_parcels, seed, error);
  w.stage = NULL;
  if (!ok && w.in_transaction)
    GDALDatasetRollbackTransaction (w.ds);
  GDALClose (w.ds);
  w.ds = NULL;
  if (ok && gdal_errors->len > 0)
    ok = set_gdal_error (&w, NULL, error);
  CPLPopErrorHandler ();

  g_free (w.stage_buf);
  if (!ok)
    {
      remove_partial (path);
      return FALSE;
    }
  if (progress != NULL)
    /* Translators: progress, the demo city is complete */
    progress (1.0, _("The demo city is written"), progress_data);
  return TRUE;
}

/* ---- Async ------------------------------------------------------------- */

typedef struct
{
  char              *path;
  guint              n_parcels;
  guint32            seed;
  DothiProgressFunc  progress;
  gpointer           progress_data;
  GMainContext      *context;
} WriteData;

static void
write_data_free (WriteData *data)
{
  g_free (data->path);
  g_main_context_unref (data->context);
  g_free (data);
}

/* Runs in the worker: passes the report to the thread that started the
 * job, in order and before the job's callback. */
static void
relay_progress_cb (double      fraction,
                   const char *stage,
                   gpointer    user_data)
{
  WriteData *data = user_data;

  dothi_progress_post (data->context, data->progress, data->progress_data, fraction, stage);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *data = task_data;
  GError *error = NULL;

  if (dothi_demo_city_write (data->path, data->n_parcels, data->seed,
                             data->progress != NULL ? relay_progress_cb : NULL, data,
                             cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
dothi_demo_city_write_async (const char          *path,
                             guint                n_parcels,
                             guint32              seed,
                             GCancellable        *cancellable,
                             DothiProgressFunc    progress,
                             gpointer             progress_data,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  WriteData *data;

  g_return_if_fail (path != NULL);
  g_return_if_fail (n_parcels > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (WriteData, 1);
  data->path = g_strdup (path);
  data->n_parcels = n_parcels;
  data->seed = seed;
  data->progress = progress;
  data->progress_data = progress_data;
  data->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_demo_city_write_async);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
  /* cancellation ends the job between batches, with its own error */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, write_thread);
}

gboolean
dothi_demo_city_write_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == dothi_demo_city_write_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
