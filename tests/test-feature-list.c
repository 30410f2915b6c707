/* test-feature-list.c: the attribute table's lazy model on a 20 000-row
 * layer: counts and values, Vietnamese sort order, numeric sort, filter,
 * a query result's fid set, finding a fid, and refresh after another
 * program's UPDATE and DELETE. */
#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "dothi-error.h"
#include "dothi-feature-list.h"
#include "dothi-project.h"
#include "dothi-store.h"
#include "test-util.h"

#define N_ROWS 20000
#define WAIT_SECONDS 30

/* Names in the order the model must sort them (dothi-feature-list.c):
 * syllable by syllable; base letters with đ after d; then the syllable's
 * tone: none, huyền, hỏi, ngã, sắc, nặng; then case, lower first;
 * digit runs by value. */
static const char *const names_in_order[] = {
  "anh",
  "Anh",
  "Ảnh",
  "Ánh",
  "Ba",
  "ba lô",
  "Bà",
  "bà ba",
  "Da",
  "Dương",
  "Đặng",
  "Đinh",
  "Đỗ",
  "Hồ",
  "Nguyễn",
  "Nguyễn Văn An",
  "Nguyễn Văn Ánh",
  "Số 2",
  "Số 10",
  "Zơ",
};
#define N_NAMES G_N_ELEMENTS (names_in_order)

/* The project every test reads, written once; the model never writes. */
static char *shared_dir;
static char *shared_project;

/* Row i (fid i + 1): a name scattered over the list, an area with a NULL
 * every 1000 rows, a code where text order and numeric order differ. */
static const char *
row_name (guint i)
{
  return names_in_order[(i * 7) % N_NAMES];
}

static double
row_area (guint i)
{
  return ((i * 7919) % N_ROWS) / 10.0 + 0.25;
}

static gint64
row_code (guint i)
{
  return ((gint64) (i * 104729) % 5000) - 2500;
}

static const char *
project_path (void)
{
  if (shared_project == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DothiProject) project = NULL;
      g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
      DothiStore *store;

      shared_dir = dothi_test_mkdtemp ();
      shared_project = g_build_filename (shared_dir, "city.dothi", NULL);
      project = dothi_project_create (shared_project, NULL, &error);
      g_assert_no_error (error);
      store = dothi_project_get_store (project);

      info->name = g_strdup ("so_muc_ke");
      info->title = g_strdup ("Sổ mục kê");
      info->kind = DOTHI_GEOMETRY_KIND_NONE;
      dothi_layer_info_add_field (info, "chu", DOTHI_FIELD_TEXT);
      dothi_layer_info_add_field (info, "dien_tich", DOTHI_FIELD_REAL);
      dothi_layer_info_add_field (info, "ma", DOTHI_FIELD_INTEGER);
      dothi_layer_info_add_field (info, "ngay", DOTHI_FIELD_DATE);

      g_assert_true (dothi_store_begin (store, "Nhập sổ mục kê", &error));
      g_assert_no_error (error);
      g_assert_true (dothi_store_create_layer (store, info, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < N_ROWS; i++)
        {
          g_autofree char *day = g_strdup_printf ("2024-%02u-%02u", i % 12 + 1, i % 28 + 1);
          DothiValue values[4] = { 0 };

          values[0].v.s = row_name (i);
          values[1].is_null = i % 1000 == 0;
          values[1].v.d = row_area (i);
          values[2].v.i = row_code (i);
          values[3].is_null = i == N_ROWS - 1;
          values[3].v.s = day;
          g_assert_true (dothi_store_insert_feature (store, "so_muc_ke", values, NULL, 0, &error));
          g_assert_no_error (error);
        }
      g_assert_true (dothi_store_finish_layer (store, "so_muc_ke", &error));
      g_assert_no_error (error);
      g_assert_true (dothi_store_commit (store, &error));
      g_assert_no_error (error);
      dothi_project_checkpoint (project, &error);
      g_assert_no_error (error);
      dothi_project_close (project);
    }
  return shared_project;
}

static DothiFeatureList *
open_list (const char *path)
{
  g_autoptr(GError) error = NULL;
  DothiFeatureList *list = dothi_feature_list_new (path, "so_muc_ke", &error);

  g_assert_no_error (error);
  g_assert_nonnull (list);
  return list;
}

static gboolean
timed_out_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer data);

/* Iterates the main context until @condition holds; fails on time out. */
static void
wait_until (Condition condition, gpointer data)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
}

static gboolean
not_busy (gpointer data)
{
  return !dothi_feature_list_get_busy (data);
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

static void
flag_cb (gpointer instance, gboolean *flag)
{
  *flag = TRUE;
}

typedef struct {
  guint n_signals;
  guint position;
  guint removed;
  guint added;
} ItemsChanged;

static void
items_changed_cb (GListModel *model, guint position, guint removed, guint added, ItemsChanged *seen)
{
  seen->n_signals++;
  seen->position = position;
  seen->removed = removed;
  seen->added = added;
}

typedef struct {
  guint  n_signals;
  guint  removed;
  guint  added;
  gboolean all_at_zero;
} ItemsSwapped;

static void
items_swapped_cb (GListModel *model, guint position, guint removed, guint added, ItemsSwapped *seen)
{
  seen->n_signals++;
  seen->removed += removed;
  seen->added += added;
  /* All rows out, then all in: never both in one signal (see the header). */
  seen->all_at_zero = seen->all_at_zero && position == 0 && (removed == 0 || added == 0);
}

/* Sorts or filters and waits; checks the rows were replaced all at once:
 * all old rows out, then all new rows in, in one main loop dispatch. */
static void
wait_order (DothiFeatureList *list, guint old_n)
{
  ItemsSwapped seen = { 0, 0, 0, TRUE };
  gulong id = g_signal_connect (list, "items-changed", G_CALLBACK (items_swapped_cb), &seen);
  guint n;

  g_assert_true (dothi_feature_list_get_busy (list));
  wait_until (not_busy, list);
  g_signal_handler_disconnect (list, id);
  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (seen.n_signals, ==, (old_n > 0) + (n > 0));
  g_assert_true (seen.all_at_zero);
  g_assert_cmpuint (seen.removed, ==, old_n);
  g_assert_cmpuint (seen.added, ==, n);
}

static DothiFeatureRow *
loaded_item (DothiFeatureList *list, guint position)
{
  g_autoptr(GError) error = NULL;
  DothiFeatureRow *row;

  g_assert_true (dothi_feature_list_load_sync (list, position, 1, &error));
  g_assert_no_error (error);
  row = g_list_model_get_item (G_LIST_MODEL (list), position);
  g_assert_nonnull (row);
  g_assert_true (dothi_feature_row_get_loaded (row));
  return row;
}

static guint
name_rank (const char *name)
{
  for (guint i = 0; i < N_NAMES; i++)
    if (g_strcmp0 (names_in_order[i], name) == 0)
      return i;
  g_assert_not_reached ();
}

/* ---- tests ------------------------------------------------------------- */

static void
test_open (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  g_autoptr(DothiFeatureRow) first = NULL;
  g_autoptr(DothiFeatureRow) last = NULL;
  const DothiLayerInfo *info = dothi_feature_list_get_info (list);

  g_assert_cmpstr (info->name, ==, "so_muc_ke");
  g_assert_cmpuint (info->fields->len, ==, 4);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == DOTHI_TYPE_FEATURE_ROW);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, N_ROWS);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), N_ROWS));
  g_assert_false (dothi_feature_list_get_busy (list));

  first = loaded_item (list, 0);
  g_assert_cmpint (dothi_feature_row_get_fid (first), ==, 1);
  g_assert_cmpstr (dothi_feature_row_get_value (first, 0), ==, row_name (0));
  g_assert_null (dothi_feature_row_get_value (first, 1));   /* NULL area */
  g_assert_cmpstr (dothi_feature_row_get_value (first, 2), ==, "-2500");
  g_assert_cmpstr (dothi_feature_row_get_value (first, 3), ==, "2024-01-01");
  g_assert_null (dothi_feature_row_get_value (first, 4));   /* no such field */

  last = loaded_item (list, N_ROWS - 1);
  g_assert_cmpint (dothi_feature_row_get_fid (last), ==, N_ROWS);
  g_assert_cmpstr (dothi_feature_row_get_value (last, 0), ==, row_name (N_ROWS - 1));
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (dothi_feature_row_get_value (last, 1), NULL),
                                  row_area (N_ROWS - 1), 1e-9);
  g_assert_null (dothi_feature_row_get_value (last, 3));
}

/* An item asked for before its page is read says "" and is filled by the
 * worker, which emits "loaded". */
static void
test_lazy (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  g_autoptr(DothiFeatureRow) row = g_list_model_get_item (G_LIST_MODEL (list), 12345);
  g_autoptr(DothiFeatureRow) again = NULL;
  g_autoptr(DothiFeatureRow) neighbour = NULL;
  gboolean loaded = FALSE;

  g_assert_cmpint (dothi_feature_row_get_fid (row), ==, 12346);
  g_assert_false (dothi_feature_row_get_loaded (row));
  g_assert_cmpstr (dothi_feature_row_get_value (row, 0), ==, "");
  g_signal_connect (row, "loaded", G_CALLBACK (flag_cb), &loaded);
  wait_until (is_true, &loaded);
  g_assert_cmpstr (dothi_feature_row_get_value (row, 0), ==, row_name (12345));

  /* The same object while it lives; its page's neighbours come loaded. */
  again = g_list_model_get_item (G_LIST_MODEL (list), 12345);
  g_assert_true (again == row);
  neighbour = g_list_model_get_item (G_LIST_MODEL (list), 12344);
  g_assert_true (dothi_feature_row_get_loaded (neighbour));
  g_assert_cmpstr (dothi_feature_row_get_value (neighbour, 0), ==, row_name (12344));
}

static void
check_name_order (DothiFeatureList *list, gboolean descending)
{
  g_autoptr(GError) error = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));
  guint previous_rank = 0;
  gint64 previous_fid = 0;

  g_assert_true (dothi_feature_list_load_sync (list, 0, n, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DothiFeatureRow) row = loaded_item (list, i);
      guint rank = name_rank (dothi_feature_row_get_value (row, 0));
      gint64 fid = dothi_feature_row_get_fid (row);

      if (i > 0)
        {
          if (descending)
            g_assert_cmpuint (rank, <=, previous_rank);
          else
            g_assert_cmpuint (rank, >=, previous_rank);
          /* Equal values keep fid order. */
          if (rank == previous_rank)
            g_assert_cmpint (fid, >, previous_fid);
        }
      previous_rank = rank;
      previous_fid = fid;
    }
}

static void
test_sort_vietnamese (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  g_autoptr(DothiFeatureRow) first = NULL;
  g_autoptr(DothiFeatureRow) last = NULL;

  dothi_feature_list_set_sort (list, "chu", FALSE);
  wait_order (list, N_ROWS);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, N_ROWS);
  check_name_order (list, FALSE);
  first = loaded_item (list, 0);
  g_assert_cmpstr (dothi_feature_row_get_value (first, 0), ==, "anh");
  last = loaded_item (list, N_ROWS - 1);
  g_assert_cmpstr (dothi_feature_row_get_value (last, 0), ==, "Zơ");

  dothi_feature_list_set_sort (list, "chu", TRUE);
  wait_order (list, N_ROWS);
  check_name_order (list, TRUE);
  g_clear_object (&first);
  first = loaded_item (list, 0);
  g_assert_cmpstr (dothi_feature_row_get_value (first, 0), ==, "Zơ");

  /* Back to fid order. */
  dothi_feature_list_set_sort (list, NULL, FALSE);
  wait_order (list, N_ROWS);
  g_clear_object (&first);
  first = loaded_item (list, 0);
  g_assert_cmpint (dothi_feature_row_get_fid (first), ==, 1);
}

/* Tone placement variants tie on every level but the bytes: neighbours. */
static void
test_sort_tone_placement (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(DothiFeatureList) list = NULL;
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "uy.dothi", NULL);
  static const char *const names[] = { "Ủy ban", "Uyên", "Uỷ ban", "Uy", "Ủy", "Uống" };
  /* "uông" < "uy" (ô before y); "uy" < "uyên" (shorter first); "Uy" <
   * "Ủy" (hỏi after no tone); "Ủy" < "Ủy ban" (one syllable first). */
  static const char *const expected[] = { "Uống", "Uy", "Ủy", "Ủy ban|Uỷ ban", "Ủy ban|Uỷ ban", "Uyên" };
  DothiStore *store;

  project = dothi_project_create (path, NULL, &error);
  g_assert_no_error (error);
  store = dothi_project_get_store (project);
  info->name = g_strdup ("ten");
  info->kind = DOTHI_GEOMETRY_KIND_NONE;
  dothi_layer_info_add_field (info, "ten", DOTHI_FIELD_TEXT);
  g_assert_true (dothi_store_begin (store, "test", &error));
  g_assert_true (dothi_store_create_layer (store, info, &error));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      DothiValue value = { 0 };

      value.v.s = names[i];
      g_assert_true (dothi_store_insert_feature (store, "ten", &value, NULL, 0, &error));
    }
  g_assert_true (dothi_store_finish_layer (store, "ten", &error));
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);

  list = dothi_feature_list_new (path, "ten", &error);
  g_assert_no_error (error);
  dothi_feature_list_set_sort (list, "ten", FALSE);
  wait_until (not_busy, list);
  g_assert_true (dothi_feature_list_load_sync (list, 0, G_N_ELEMENTS (names), &error));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(DothiFeatureRow) row = loaded_item (list, i);
      g_auto(GStrv) choices = g_strsplit (expected[i], "|", -1);

      g_assert_true (g_strv_contains ((const char * const *) choices,
                                      dothi_feature_row_get_value (row, 0)));
    }
  g_clear_object (&list);
  dothi_project_close (project);
  dothi_test_rmdir (dir);
}

static void
test_sort_numeric (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  g_autoptr(GError) error = NULL;
  double previous = -G_MAXDOUBLE;
  gint64 previous_code = G_MININT64;

  dothi_feature_list_set_sort (list, "dien_tich", FALSE);
  wait_order (list, N_ROWS);
  g_assert_true (dothi_feature_list_load_sync (list, 0, N_ROWS, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < N_ROWS; i++)
    {
      g_autoptr(DothiFeatureRow) row = loaded_item (list, i);
      const char *value = dothi_feature_row_get_value (row, 1);

      /* The 20 NULLs first, then by value, not by text ("10.25" > "9.25"). */
      if (i < N_ROWS / 1000)
        {
          g_assert_null (value);
          continue;
        }
      g_assert_nonnull (value);
      g_assert_cmpfloat (g_ascii_strtod (value, NULL), >=, previous);
      previous = g_ascii_strtod (value, NULL);
    }

  dothi_feature_list_set_sort (list, "ma", TRUE);
  wait_order (list, N_ROWS);
  g_assert_true (dothi_feature_list_load_sync (list, 0, N_ROWS, &error));
  previous_code = G_MAXINT64;
  for (guint i = 0; i < N_ROWS; i++)
    {
      g_autoptr(DothiFeatureRow) row = loaded_item (list, i);
      gint64 code = g_ascii_strtoll (dothi_feature_row_get_value (row, 2), NULL, 10);

      g_assert_cmpint (code, <=, previous_code);
      previous_code = code;
    }
  g_assert_cmpint (previous_code, ==, -2500);
}

static guint
count_names (gboolean (*match) (const char *name))
{
  guint n = 0;

  for (guint i = 0; i < N_ROWS; i++)
    n += match (row_name (i));
  return n;
}

static gboolean
is_nguyen (const char *name)
{
  return g_str_has_prefix (name, "Nguyễn");
}

static gboolean
is_van_anh (const char *name)
{
  return strcmp (name, "Nguyễn Văn Ánh") == 0 || strcmp (name, "Nguyễn Văn An") == 0;
}

static void
test_filter (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  g_autoptr(GError) error = NULL;
  guint n;

  /* Folded: case, tone marks and đ/d. */
  dothi_feature_list_set_filter (list, "chu", "nguyen");
  wait_order (list, N_ROWS);
  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (n, ==, count_names (is_nguyen));
  g_assert_cmpuint (n, >, 0);
  g_assert_true (dothi_feature_list_load_sync (list, 0, n, &error));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DothiFeatureRow) row = loaded_item (list, i);

      g_assert_true (is_nguyen (dothi_feature_row_get_value (row, 0)));
      if (i > 0)
        {
          g_autoptr(DothiFeatureRow) before = loaded_item (list, i - 1);

          g_assert_cmpint (dothi_feature_row_get_fid (row), >, dothi_feature_row_get_fid (before));
        }
    }

  /* Sorting keeps the filter; any field (NULL) finds the same names. */
  dothi_feature_list_set_sort (list, "chu", FALSE);
  wait_order (list, n);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n);
  dothi_feature_list_set_filter (list, NULL, "NGUYỄN VĂN A");
  wait_order (list, n);
  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (n, ==, count_names (is_van_anh));
  check_name_order (list, FALSE);

  /* đ folds to d: "dang" finds "Đặng". */
  dothi_feature_list_set_filter (list, "chu", "dang");
  wait_order (list, n);
  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (n, ==, N_ROWS / N_NAMES);

  /* A number field is matched on its text. */
  dothi_feature_list_set_filter (list, "ma", "-2500");
  wait_order (list, n);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), >=, 1);

  dothi_feature_list_set_filter (list, "chu", "không có ai");
  wait_order (list, g_list_model_get_n_items (G_LIST_MODEL (list)));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);

  /* NULL text: every row again. */
  dothi_feature_list_set_filter (list, NULL, NULL);
  wait_order (list, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, N_ROWS);
}

/* Every seventh row, and a fid the layer does not have. */
static DothiFidSet *
every_seventh (void)
{
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 missing = N_ROWS + 5;

  for (gint64 fid = 1; fid <= N_ROWS; fid += 7)
    g_array_append_val (fids, fid);
  g_array_append_val (fids, missing);
  return dothi_fid_set_new_take (g_steal_pointer (&fids));
}

/* Rows i (fid i + 1) of the set whose name @match accepts (NULL: all). */
static guint
count_in_set (const DothiFidSet *set, gboolean (*match) (const char *name))
{
  guint n = 0;

  for (guint i = 0; i < N_ROWS; i++)
    n += dothi_fid_set_contains (set, i + 1) && (match == NULL || match (row_name (i)));
  return n;
}

static void
check_all_in_set (DothiFeatureList *list, const DothiFidSet *set)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));

  for (guint i = 0; i < n; i++)
    g_assert_true (dothi_fid_set_contains (set, dothi_feature_list_get_fid (list, i)));
}

static void
test_set_fids (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  g_autoptr(DothiFidSet) set = every_seventh ();
  g_autoptr(DothiFidSet) empty = dothi_fid_set_new_take (NULL);
  guint n, n_nguyen;

  /* Only the set's rows, in fid order; the missing fid is left out. */
  dothi_feature_list_set_fids (list, set);
  g_assert_true (dothi_feature_list_get_fids (list) == set);
  wait_order (list, N_ROWS);
  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (n, ==, count_in_set (set, NULL));
  g_assert_cmpuint (n, ==, dothi_fid_set_get_size (set) - 1);
  check_all_in_set (list, set);
  for (guint i = 1; i < n; i++)
    g_assert_cmpint (dothi_feature_list_get_fid (list, i), >, dothi_feature_list_get_fid (list, i - 1));
  g_assert_cmpint (dothi_feature_list_find_fid (list, 8), ==, 1);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 2), ==, -1);

  /* Sorted within the set, in Vietnamese order. */
  dothi_feature_list_set_sort (list, "chu", FALSE);
  wait_order (list, n);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n);
  check_all_in_set (list, set);
  check_name_order (list, FALSE);

  /* With the text filter too: both hold, the sort stays. */
  dothi_feature_list_set_filter (list, "chu", "nguyen");
  wait_order (list, n);
  n_nguyen = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (n_nguyen, ==, count_in_set (set, is_nguyen));
  g_assert_cmpuint (n_nguyen, >, 0);
  check_all_in_set (list, set);
  check_name_order (list, FALSE);

  /* Descending keeps the set and the filter. */
  dothi_feature_list_set_sort (list, "chu", TRUE);
  wait_order (list, n_nguyen);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n_nguyen);
  check_name_order (list, TRUE);

  /* The same set again changes nothing. */
  {
    g_autoptr(DothiFidSet) same = every_seventh ();

    dothi_feature_list_set_fids (list, same);
    g_assert_false (dothi_feature_list_get_busy (list));
  }

  /* An empty set: no rows. */
  dothi_feature_list_set_fids (list, empty);
  wait_order (list, n_nguyen);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);

  /* NULL: the filter alone again, then every row. */
  dothi_feature_list_set_fids (list, NULL);
  g_assert_null (dothi_feature_list_get_fids (list));
  wait_order (list, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, count_names (is_nguyen));
  check_name_order (list, TRUE);
  dothi_feature_list_set_filter (list, NULL, NULL);
  wait_order (list, count_names (is_nguyen));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, N_ROWS);
}

static void
test_find_fid (void)
{
  g_autoptr(DothiFeatureList) list = open_list (project_path ());
  gint64 position;

  g_assert_cmpint (dothi_feature_list_get_fid (list, 12344), ==, 12345);
  g_assert_cmpint (dothi_feature_list_get_fid (list, N_ROWS), ==, -1);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 1), ==, 0);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 12345), ==, 12344);
  g_assert_cmpint (dothi_feature_list_find_fid (list, N_ROWS), ==, N_ROWS - 1);
  g_assert_cmpint (dothi_feature_list_find_fid (list, N_ROWS + 1), ==, -1);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 0), ==, -1);

  dothi_feature_list_set_sort (list, "chu", TRUE);
  wait_order (list, N_ROWS);
  for (gint64 fid = 1; fid <= N_ROWS; fid += 997)
    {
      g_autoptr(DothiFeatureRow) row = NULL;

      position = dothi_feature_list_find_fid (list, fid);
      g_assert_cmpint (position, >=, 0);
      row = g_list_model_get_item (G_LIST_MODEL (list), position);
      g_assert_cmpint (dothi_feature_row_get_fid (row), ==, fid);
      g_assert_cmpint (dothi_feature_list_get_fid (list, position), ==, fid);
    }
  g_assert_cmpint (dothi_feature_list_find_fid (list, N_ROWS + 1), ==, -1);

  /* Filtered out: not found. */
  dothi_feature_list_set_filter (list, "chu", "Zơ");
  wait_order (list, N_ROWS);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 1), ==, -1);   /* row 0 is "anh" */
}

static void
exec_sql (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  sqlite3_exec (db, sql, NULL, NULL, &message);
  g_assert_cmpstr (message, ==, NULL);
  sqlite3_close (db);
}

static void
test_refresh (void)
{
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "copy.dothi", NULL);
  g_autoptr(GFile) source = g_file_new_for_path (project_path ());
  g_autoptr(GFile) target = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFeatureList) list = NULL;
  g_autoptr(DothiFeatureRow) row = NULL;
  g_autoptr(DothiFeatureRow) after = NULL;
  ItemsChanged seen = { 0 };
  gboolean loaded = FALSE;
  gint64 fids[2] = { 5, 7 };

  /* Checkpointed and closed: the main file holds everything. */
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  list = open_list (path);
  row = loaded_item (list, 4);
  g_assert_cmpint (dothi_feature_row_get_fid (row), ==, 5);
  g_assert_cmpstr (dothi_feature_row_get_value (row, 0), ==, row_name (4));

  /* Another program edits: the audit triggers use only SQLite's own
   * functions, so a plain connection can write. */
  exec_sql (path, "UPDATE so_muc_ke SET chu = 'Phạm Thị Ánh', dien_tich = NULL WHERE fid = 5; "
                  "DELETE FROM so_muc_ke WHERE fid = 7");

  /* Not re-read until asked. */
  g_assert_cmpstr (dothi_feature_row_get_value (row, 0), ==, row_name (4));
  g_signal_connect (row, "loaded", G_CALLBACK (flag_cb), &loaded);
  g_signal_connect (list, "items-changed", G_CALLBACK (items_changed_cb), &seen);
  dothi_feature_list_refresh (list, fids, G_N_ELEMENTS (fids));
  wait_until (is_true, &loaded);
  g_assert_cmpstr (dothi_feature_row_get_value (row, 0), ==, "Phạm Thị Ánh");
  g_assert_null (dothi_feature_row_get_value (row, 1));

  /* The deleted row left the model. */
  g_assert_cmpuint (seen.n_signals, ==, 1);
  g_assert_cmpuint (seen.position, ==, 6);
  g_assert_cmpuint (seen.removed, ==, 1);
  g_assert_cmpuint (seen.added, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, N_ROWS - 1);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 7), ==, -1);
  g_assert_cmpint (dothi_feature_list_find_fid (list, 8), ==, 6);
  after = loaded_item (list, 6);
  g_assert_cmpint (dothi_feature_row_get_fid (after), ==, 8);

  g_clear_object (&list);
  dothi_test_rmdir (dir);
}

static void
test_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiFeatureList) list = NULL;
  g_autofree char *dir = dothi_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "khong-co.dothi", NULL);

  list = dothi_feature_list_new (project_path (), "khong_co", &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_null (list);
  g_assert_nonnull (strstr (error->message, "khong_co"));
  g_clear_error (&error);

  list = dothi_feature_list_new (path, "so_muc_ke", &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "khong-co.dothi"));
  g_assert_null (list);
  dothi_test_rmdir (dir);
}

/* A model dropped while it sorts: the worker's result is thrown away. */
static void
test_dispose_busy (void)
{
  DothiFeatureList *list = open_list (project_path ());
  GWeakRef weak;

  g_weak_ref_init (&weak, list);
  dothi_feature_list_set_sort (list, "chu", FALSE);
  g_object_unref (list);
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);
}

int
main (int argc, char **argv)
{
  int status;

  dothi_test_init (&argc, &argv);
  g_test_add_func ("/feature-list/open", test_open);
  g_test_add_func ("/feature-list/lazy", test_lazy);
  g_test_add_func ("/feature-list/sort/vietnamese", test_sort_vietnamese);
  g_test_add_func ("/feature-list/sort/tone-placement", test_sort_tone_placement);
  g_test_add_func ("/feature-list/sort/numeric", test_sort_numeric);
  g_test_add_func ("/feature-list/filter", test_filter);
  g_test_add_func ("/feature-list/fid-set", test_set_fids);
  g_test_add_func ("/feature-list/find-fid", test_find_fid);
  g_test_add_func ("/feature-list/refresh", test_refresh);
  g_test_add_func ("/feature-list/missing", test_missing);
  g_test_add_func ("/feature-list/dispose-busy", test_dispose_busy);
  status = g_test_run ();
  if (shared_dir != NULL)
    dothi_test_rmdir (shared_dir);
  return status;
}
