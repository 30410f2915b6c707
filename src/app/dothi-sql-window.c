/* dothi-sql-window.c: the SQL console window: one SELECT typed by an expert,
 * run in the background on the core's read-only connection (cancellable),
 * its rows in a table that can be copied as CSV. */
#define G_LOG_DOMAIN "dothi-sql-window"

#include "config.h"
#include "dothi-sql-window.h"

#include <glib/gi18n.h>
#include <string.h>

#include "dothi-format.h"
#include "dothi-sql-console.h"

/* Rows shown; one more is asked for to know whether the result was cut. */
#define MAX_ROWS 10000
/* Queries kept for Up/Down. */
#define MAX_HISTORY 50
/* A longer value is cut in its cell (not in the CSV copy): Pango would lay
 * out megabytes of text for each visible cell. */
#define MAX_CELL_BYTES 1000

/* ---- one result row, as a list item ------------------------------------ */

#define DOTHI_TYPE_SQL_ROW (dothi_sql_row_get_type ())
G_DECLARE_FINAL_TYPE (DothiSqlRow, dothi_sql_row, DOTHI, SQL_ROW, GObject)

struct _DothiSqlRow
{
  GObject    parent_instance;
  GPtrArray *values;  /* char *, NULL for SQL NULL; shared with the result */
};

G_DEFINE_FINAL_TYPE (DothiSqlRow, dothi_sql_row, G_TYPE_OBJECT)

static void
dothi_sql_row_finalize (GObject *object)
{
  g_clear_pointer (&DOTHI_SQL_ROW (object)->values, g_ptr_array_unref);
  G_OBJECT_CLASS (dothi_sql_row_parent_class)->finalize (object);
}

static void
dothi_sql_row_class_init (DothiSqlRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_sql_row_finalize;
}

static void
dothi_sql_row_init (DothiSqlRow *self)
{
}

static DothiSqlRow *
dothi_sql_row_new (GPtrArray *values)
{
  DothiSqlRow *row = g_object_new (DOTHI_TYPE_SQL_ROW, NULL);

  row->values = g_ptr_array_ref (values);
  return row;
}

/* ---- the window --------------------------------------------------------- */

struct _DothiSqlWindow
{
  AdwWindow        parent_instance;

  char            *path;
  DothiSqlConsole *console;          /* NULL until opened */
  GCancellable    *open_cancellable;
  GCancellable    *cancellable;      /* the query running now, or NULL */
  gboolean         opening;
  gboolean         run_pending;      /* Run was pressed while opening */
  gboolean         disposed;
  gint64           started_us;

  GPtrArray       *history;          /* char *, oldest first */
  guint            history_pos;      /* == history->len: not browsing */

  /* The result shown, for Copy as CSV. */
  GStrv            columns;
  GPtrArray       *rows;
  gboolean         truncated;

  char            *error_message;
  char            *status_text;

  AdwToastOverlay *toasts;
  AdwWindowTitle  *title;
  GtkTextView     *text_view;
  GtkWidget       *spinner;
  GtkStack        *result_stack;
  GtkScrolledWindow *result_scroller;
  GtkRevealer     *error_revealer;
  GtkLabel        *error_label;
  GtkLabel        *status_label;
};

G_DEFINE_FINAL_TYPE (DothiSqlWindow, dothi_sql_window, ADW_TYPE_WINDOW)

static gboolean
is_busy (DothiSqlWindow *self)
{
  return self->cancellable != NULL || self->run_pending;
}

static void
update_actions (DothiSqlWindow *self)
{
  gboolean busy = is_busy (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sql.run",
                                 !busy && (self->console != NULL || self->opening));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sql.cancel", busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sql.copy-csv",
                                 self->rows != NULL && self->columns != NULL);
  gtk_widget_set_visible (self->spinner, busy || self->opening);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), busy || self->opening);
}

static void
set_status (DothiSqlWindow *self,
            const char     *text)
{
  g_free (self->status_text);
  self->status_text = g_strdup (text);
  gtk_label_set_text (self->status_label, text ? text : "");
}

static void
set_error (DothiSqlWindow *self,
           const char     *message)
{
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static char *
dup_text (DothiSqlWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
set_text (DothiSqlWindow *self,
          const char     *text)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter end;

  gtk_text_buffer_set_text (buffer, text, -1);
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_place_cursor (buffer, &end);
}

/* ---- the result table --------------------------------------------------- */

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_single_line_mode (GTK_LABEL (label), TRUE);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 50);
  gtk_list_item_set_child (item, label);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  guint column = GPOINTER_TO_UINT (user_data);
  DothiSqlRow *row = gtk_list_item_get_item (item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (item));
  const char *value = column < row->values->len ? g_ptr_array_index (row->values, column) : NULL;

  if (value == NULL)
    {
      /* Translators: an SQL NULL in a result cell, shown dimmed; usually
       * kept as is */
      gtk_label_set_text (label, _("NULL"));
      gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
  if (strlen (value) > MAX_CELL_BYTES)
    {
      const char *cut = g_utf8_find_prev_char (value, value + MAX_CELL_BYTES + 1);
      g_autofree char *shown = g_strdup_printf ("%.*s…", (int) (cut - value), value);

      gtk_label_set_text (label, shown);
    }
  else
    gtk_label_set_text (label, value);
}

static GtkWidget *
build_column_view (DothiSqlWindow *self)
{
  g_autoptr(GListStore) store = g_list_store_new (DOTHI_TYPE_SQL_ROW);
  g_autofree gpointer *items = g_new (gpointer, self->rows->len + 1);
  GtkWidget *view;

  for (guint i = 0; i < self->rows->len; i++)
    items[i] = dothi_sql_row_new (g_ptr_array_index (self->rows, i));
  g_list_store_splice (store, 0, 0, items, self->rows->len);
  for (guint i = 0; i < self->rows->len; i++)
    g_object_unref (items[i]);

  view = gtk_column_view_new (GTK_SELECTION_MODEL (gtk_no_selection_new (G_LIST_MODEL (g_steal_pointer (&store)))));
  gtk_widget_set_name (view, "sql-result");
  gtk_widget_add_css_class (view, "data-table");
  gtk_column_view_set_show_column_separators (GTK_COLUMN_VIEW (view), TRUE);
  gtk_column_view_set_reorderable (GTK_COLUMN_VIEW (view), FALSE);
  for (guint c = 0; self->columns[c] != NULL; c++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) column = NULL;

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), NULL);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), GUINT_TO_POINTER (c));
      /* The column takes the factory. */
      column = gtk_column_view_column_new (self->columns[c], factory);
      gtk_column_view_column_set_resizable (column, TRUE);
      gtk_column_view_append_column (GTK_COLUMN_VIEW (view), column);
    }
  return view;
}

static void
clear_result (DothiSqlWindow *self)
{
  g_clear_pointer (&self->columns, g_strfreev);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  self->truncated = FALSE;
  gtk_scrolled_window_set_child (self->result_scroller, NULL);
  gtk_stack_set_visible_child_name (self->result_stack, "empty");
}

static void
show_result (DothiSqlWindow *self,
             GStrv           columns,
             GPtrArray      *rows,
             double          seconds)
{
  g_autofree char *count = NULL;
  g_autofree char *time = NULL;
  g_autofree char *status = NULL;

  clear_result (self);
  self->truncated = rows->len > MAX_ROWS;
  if (self->truncated)
    g_ptr_array_set_size (rows, MAX_ROWS);
  self->columns = columns;
  self->rows = rows;
  gtk_scrolled_window_set_child (self->result_scroller, build_column_view (self));
  gtk_stack_set_visible_child_name (self->result_stack, "result");

  count = dothi_format_int64 (rows->len);
  time = g_strdup_printf ("%.2f", seconds);
  if (self->truncated)
    /* Translators: the number of rows shown (formatted with thousands
     * separators), then the seconds the query took ("0.12") */
    status = g_strdup_printf (ngettext ("First %s row in %s s; the query has more",
                                        "First %s rows in %s s; the query has more",
                                        rows->len),
                              count, time);
  else
    /* Translators: the number of rows (formatted with thousands
     * separators), then the seconds the query took ("0.12") */
    status = g_strdup_printf (ngettext ("%s row in %s s", "%s rows in %s s", rows->len),
                              count, time);
  set_status (self, status);
}

/* ---- CSV ---------------------------------------------------------------- */

/* RFC 4180: a field with a comma, a quote, a line break or spaces at either
 * end goes in quotes, with its quotes doubled. An empty text is "" so that
 * it stays apart from NULL, which is an empty field (as PostgreSQL's COPY
 * … CSV does). */
static void
append_csv_field (GString    *out,
                  const char *value)
{
  gsize len;

  if (value == NULL)
    return;
  len = strlen (value);
  if (len > 0 && strpbrk (value, ",\"\r\n") == NULL
      && !g_ascii_isspace (value[0]) && !g_ascii_isspace (value[len - 1]))
    {
      g_string_append_len (out, value, len);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static char *
format_csv (GStrv      columns,
               GPtrArray *rows)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint n_columns = g_strv_length (columns);

  for (guint c = 0; c < n_columns; c++)
    {
      if (c > 0)
        g_string_append_c (out, ',');
      append_csv_field (out, columns[c]);
    }
  g_string_append (out, "\r\n");
  for (guint i = 0; i < rows->len; i++)
    {
      GPtrArray *row = g_ptr_array_index (rows, i);

      for (guint c = 0; c < n_columns; c++)
        {
          if (c > 0)
            g_string_append_c (out, ',');
          append_csv_field (out, c < row->len ? g_ptr_array_index (row, c) : NULL);
        }
      g_string_append (out, "\r\n");
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- history ------------------------------------------------------------ */

static void
add_to_history (DothiSqlWindow *self,
                const char     *sql)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (sql));

  if (*trimmed == '\0')
    return;
  for (guint i = 0; i < self->history->len; i++)
    if (strcmp (g_ptr_array_index (self->history, i), trimmed) == 0)
      {
        g_ptr_array_remove_index (self->history, i);
        break;
      }
  g_ptr_array_add (self->history, g_steal_pointer (&trimmed));
  while (self->history->len > MAX_HISTORY)
    g_ptr_array_remove_index (self->history, 0);
  self->history_pos = self->history->len;
}

/* Up and Down walk the history while the view is empty or shows the entry
 * they last put there, unchanged. */
static gboolean
is_browsing_history (DothiSqlWindow *self)
{
  g_autofree char *text = dup_text (self);

  if (*text == '\0')
    return TRUE;
  return self->history_pos < self->history->len
         && strcmp (text, g_ptr_array_index (self->history, self->history_pos)) == 0;
}

static gboolean
recall_previous (DothiSqlWindow *self)
{
  g_autofree char *text = dup_text (self);

  if (self->history->len == 0 || !is_browsing_history (self))
    return FALSE;
  /* From an empty view, the newest query first. */
  if (*text == '\0')
    self->history_pos = self->history->len;
  if (self->history_pos == 0)
    return TRUE;
  self->history_pos--;
  set_text (self, g_ptr_array_index (self->history, self->history_pos));
  return TRUE;
}

static gboolean
recall_next (DothiSqlWindow *self)
{
  g_autofree char *text = dup_text (self);

  if (*text == '\0' || !is_browsing_history (self))
    return FALSE;
  self->history_pos++;
  if (self->history_pos >= self->history->len)
    {
      self->history_pos = self->history->len;
      set_text (self, "");
    }
  else
    set_text (self, g_ptr_array_index (self->history, self->history_pos));
  return TRUE;
}

/* ---- running ------------------------------------------------------------ */

static void
query_finished_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(DothiSqlWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_auto(GStrv) columns = NULL;
  double seconds;

  rows = dothi_sql_console_run_finish (DOTHI_SQL_CONSOLE (source), result, &columns, &error);
  if (self->disposed)
    return;

  seconds = (g_get_monotonic_time () - self->started_us) / (double) G_USEC_PER_SEC;
  g_clear_object (&self->cancellable);
  if (rows == NULL)
    {
      clear_result (self);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_status (self, _("Query cancelled"));
      else
        {
          set_status (self, NULL);
          set_error (self, error->message);
        }
    }
  else
    show_result (self, g_steal_pointer (&columns), g_steal_pointer (&rows), seconds);
  update_actions (self);
}

static void
start_query (DothiSqlWindow *self,
             const char     *sql)
{
  g_assert (self->console != NULL);
  g_assert (self->cancellable == NULL);

  self->cancellable = g_cancellable_new ();
  self->started_us = g_get_monotonic_time ();
  set_status (self, _("Running…"));
  /* The task holds the console: closing the window while a query runs
   * cancels it, and the connection closes once it has stopped. */
  dothi_sql_console_run_async (self->console, sql, MAX_ROWS + 1, self->cancellable,
                               query_finished_cb, g_object_ref (self));
}

static void
run_query (DothiSqlWindow *self)
{
  g_autofree char *sql = NULL;

  if (is_busy (self))
    return;
  sql = dup_text (self);
  add_to_history (self, sql);
  set_error (self, NULL);
  if (self->console == NULL)
    {
      if (!self->opening)
        return;
      /* Runs as soon as the console is open. */
      self->run_pending = TRUE;
      set_status (self, _("Running…"));
    }
  else
    start_query (self, sql);
  update_actions (self);
}

static void
cancel_query (DothiSqlWindow *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  else if (self->run_pending)
    {
      self->run_pending = FALSE;
      set_status (self, _("Query cancelled"));
      update_actions (self);
    }
}

/* ---- opening ------------------------------------------------------------ */

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  DothiSqlConsole *console = dothi_sql_console_open (task_data, &error);

  if (console == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, console, g_object_unref);
}

static void
console_opened_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(DothiSqlWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiSqlConsole) console = g_task_propagate_pointer (G_TASK (result), &error);

  if (self->disposed)
    return;
  self->opening = FALSE;
  if (console == NULL)
    {
      self->run_pending = FALSE;
      set_status (self, NULL);
      set_error (self, error->message);
    }
  else
    {
      self->console = g_steal_pointer (&console);
      if (self->run_pending)
        {
          g_autofree char *sql = dup_text (self);

          self->run_pending = FALSE;
          start_query (self, sql);
        }
    }
  update_actions (self);
}

static void
open_console (DothiSqlWindow *self)
{
  g_autoptr(GTask) task = NULL;

  self->opening = TRUE;
  self->open_cancellable = g_cancellable_new ();
  task = g_task_new (NULL, self->open_cancellable, console_opened_cb, g_object_ref (self));
  g_task_set_source_tag (task, open_console);
  g_task_set_task_data (task, g_strdup (self->path), g_free);
  g_task_run_in_thread (task, open_thread);
  update_actions (self);
}

/* ---- actions and keys --------------------------------------------------- */

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  run_query (DOTHI_SQL_WINDOW (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  cancel_query (DOTHI_SQL_WINDOW (widget));
}

static void
cancel_or_close_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  DothiSqlWindow *self = DOTHI_SQL_WINDOW (widget);

  if (is_busy (self))
    cancel_query (self);
  else
    gtk_window_close (GTK_WINDOW (self));
}

static void
copy_csv_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  DothiSqlWindow *self = DOTHI_SQL_WINDOW (widget);
  g_autofree char *csv = NULL;
  g_autofree char *count = NULL;
  g_autofree char *message = NULL;

  if (self->rows == NULL || self->columns == NULL)
    return;
  csv = format_csv (self->columns, self->rows);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), csv);
  count = dothi_format_int64 (self->rows->len);
  /* Translators: number of rows, formatted with thousands separators */
  message = g_strdup_printf (ngettext ("Copied %s row as CSV", "Copied %s rows as CSV",
                                       self->rows->len),
                             count);
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
}

static void
history_previous_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  recall_previous (DOTHI_SQL_WINDOW (widget));
}

static void
history_next_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  recall_next (DOTHI_SQL_WINDOW (widget));
}

/* TRUE when the cursor is on the first line (@top) or the last. */
static gboolean
is_cursor_on_end_line (GtkTextBuffer *buffer,
                       gboolean       top)
{
  GtkTextIter cursor;

  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  return top ? gtk_text_iter_get_line (&cursor) == 0
             : gtk_text_iter_get_line (&cursor) == gtk_text_buffer_get_line_count (buffer) - 1;
}

/* Up on the first line and Down on the last walk the history. */
static gboolean
text_key_pressed_cb (GtkEventControllerKey *controller,
                     guint                  keyval,
                     guint                  keycode,
                     GdkModifierType        state,
                     DothiSqlWindow        *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);

  if ((state & gtk_accelerator_get_default_mod_mask ()) != 0)
    return FALSE;
  if ((keyval == GDK_KEY_Up || keyval == GDK_KEY_KP_Up)
      && is_cursor_on_end_line (buffer, TRUE))
    return recall_previous (self);
  if ((keyval == GDK_KEY_Down || keyval == GDK_KEY_KP_Down)
      && is_cursor_on_end_line (buffer, FALSE))
    return recall_next (self);
  return FALSE;
}

/* ---- building ----------------------------------------------------------- */

static GtkWidget *
new_button (const char *label,
            const char *action,
            const char *tooltip,
            const char *name)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_set_name (button, name);
  return button;
}

static void
build_ui (DothiSqlWindow *self)
{
  GtkWidget *box, *header, *button, *paned, *scroller, *lower, *status_page;
  GtkEventController *keys;
  GtkShortcutController *shortcuts;

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  header = adw_header_bar_new ();
  self->title = ADW_WINDOW_TITLE (adw_window_title_new (_("SQL Console"), NULL));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), GTK_WIDGET (self->title));
  button = new_button (_("_Run"), "sql.run", _("Run the query (Ctrl+Enter)"), "sql-run");
  gtk_widget_add_css_class (button, "suggested-action");
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), button);
  button = new_button (_("_Cancel"), "sql.cancel", _("Stop the query (Escape)"), "sql-cancel");
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), button);
  self->spinner = gtk_spinner_new ();
  gtk_widget_set_tooltip_text (self->spinner, _("Running the query"));
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), self->spinner);
  button = new_button (_("Copy as CS_V"), "sql.copy-csv",
                       _("Copy the whole result with its column names as CSV"), "sql-copy-csv");
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), button);
  gtk_box_append (GTK_BOX (box), header);

  paned = gtk_paned_new (GTK_ORIENTATION_VERTICAL);
  gtk_paned_set_position (GTK_PANED (paned), 150);
  gtk_paned_set_shrink_start_child (GTK_PANED (paned), FALSE);
  gtk_paned_set_shrink_end_child (GTK_PANED (paned), FALSE);
  gtk_widget_set_vexpand (paned, TRUE);

  self->text_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_widget_set_name (GTK_WIDGET (self->text_view), "sql-text");
  gtk_text_view_set_monospace (self->text_view, TRUE);
  gtk_text_view_set_wrap_mode (self->text_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_top_margin (self->text_view, 8);
  gtk_text_view_set_bottom_margin (self->text_view, 8);
  gtk_text_view_set_left_margin (self->text_view, 8);
  gtk_text_view_set_right_margin (self->text_view, 8);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->text_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("SQL query"), -1);
  keys = gtk_event_controller_key_new ();
  /* Before the text view's own cursor keys. */
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (text_key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->text_view), keys);
  scroller = gtk_scrolled_window_new ();
  gtk_widget_set_size_request (scroller, -1, 80);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->text_view));
  gtk_paned_set_start_child (GTK_PANED (paned), scroller);

  lower = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  self->error_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_name (GTK_WIDGET (self->error_label), "sql-error");
  gtk_widget_add_css_class (GTK_WIDGET (self->error_label), "error");
  gtk_label_set_wrap (self->error_label, TRUE);
  gtk_label_set_wrap_mode (self->error_label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (self->error_label, TRUE);
  gtk_label_set_xalign (self->error_label, 0);
  gtk_widget_set_margin_start (GTK_WIDGET (self->error_label), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->error_label), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self->error_label), 8);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->error_label), 8);
  self->error_revealer = GTK_REVEALER (gtk_revealer_new ());
  gtk_revealer_set_child (self->error_revealer, GTK_WIDGET (self->error_label));
  gtk_box_append (GTK_BOX (lower), GTK_WIDGET (self->error_revealer));

  self->result_stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->result_stack), TRUE);
  status_page = adw_status_page_new ();
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (status_page), "utilities-terminal-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (status_page), _("Read-Only SQL"));
  adw_status_page_set_description (ADW_STATUS_PAGE (status_page),
                                   _("Type one SELECT above, SpatiaLite functions included, "
                                     "and run it with Ctrl+Enter. Nothing in the project can "
                                     "be changed from here. Up and Down recall earlier queries."));
  gtk_widget_add_css_class (status_page, "compact");
  gtk_stack_add_named (self->result_stack, status_page, "empty");
  self->result_scroller = GTK_SCROLLED_WINDOW (gtk_scrolled_window_new ());
  gtk_stack_add_named (self->result_stack, GTK_WIDGET (self->result_scroller), "result");
  gtk_box_append (GTK_BOX (lower), GTK_WIDGET (self->result_stack));
  gtk_paned_set_end_child (GTK_PANED (paned), lower);
  gtk_box_append (GTK_BOX (box), paned);

  gtk_box_append (GTK_BOX (box), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_name (GTK_WIDGET (self->status_label), "sql-status");
  gtk_label_set_xalign (self->status_label, 0);
  gtk_label_set_ellipsize (self->status_label, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "dim-label");
  gtk_widget_set_margin_start (GTK_WIDGET (self->status_label), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->status_label), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self->status_label), 6);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->status_label), 6);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->status_label));

  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  adw_toast_overlay_set_child (self->toasts, box);
  adw_window_set_content (ADW_WINDOW (self), GTK_WIDGET (self->toasts));

  /* Ctrl+Enter runs even while the text view has the focus, which would
   * take Enter for a new line. */
  shortcuts = GTK_SHORTCUT_CONTROLLER (gtk_shortcut_controller_new ());
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (shortcuts), GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (shortcuts,
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Return, GDK_CONTROL_MASK),
                                                          gtk_named_action_new ("sql.run")));
  gtk_shortcut_controller_add_shortcut (shortcuts,
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_KP_Enter, GDK_CONTROL_MASK),
                                                          gtk_named_action_new ("sql.run")));
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (shortcuts));

  gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->text_view));
}

/* ---- GObject ------------------------------------------------------------ */

static void
dothi_sql_window_dispose (GObject *object)
{
  DothiSqlWindow *self = DOTHI_SQL_WINDOW (object);

  /* Callbacks still to come hold a reference and see this flag. */
  self->disposed = TRUE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->open_cancellable != NULL)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->open_cancellable);
  g_clear_object (&self->console);

  G_OBJECT_CLASS (dothi_sql_window_parent_class)->dispose (object);
}

static void
dothi_sql_window_finalize (GObject *object)
{
  DothiSqlWindow *self = DOTHI_SQL_WINDOW (object);

  g_free (self->path);
  g_clear_pointer (&self->history, g_ptr_array_unref);
  g_clear_pointer (&self->columns, g_strfreev);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_free (self->error_message);
  g_free (self->status_text);

  G_OBJECT_CLASS (dothi_sql_window_parent_class)->finalize (object);
}

static void
dothi_sql_window_class_init (DothiSqlWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_sql_window_dispose;
  object_class->finalize = dothi_sql_window_finalize;

  gtk_widget_class_install_action (widget_class, "sql.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "sql.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "sql.cancel-or-close", NULL, cancel_or_close_action);
  gtk_widget_class_install_action (widget_class, "sql.copy-csv", NULL, copy_csv_action);
  gtk_widget_class_install_action (widget_class, "sql.history-previous", NULL, history_previous_action);
  gtk_widget_class_install_action (widget_class, "sql.history-next", NULL, history_next_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "sql.cancel-or-close", NULL);
}

static void
dothi_sql_window_init (DothiSqlWindow *self)
{
  self->history = g_ptr_array_new_with_free_func (g_free);
  gtk_window_set_title (GTK_WINDOW (self), _("SQL Console"));
  gtk_window_set_default_size (GTK_WINDOW (self), 900, 600);
  build_ui (self);
  update_actions (self);
}

/* ---- public API --------------------------------------------------------- */

DothiSqlWindow *
dothi_sql_window_new (GtkWindow  *parent,
                      const char *path)
{
  DothiSqlWindow *self;
  g_autofree char *basename = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_SQL_WINDOW, NULL);
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (self), parent);
      gtk_window_set_destroy_with_parent (GTK_WINDOW (self), TRUE);
      if (gtk_window_get_application (parent) != NULL)
        gtk_window_set_application (GTK_WINDOW (self), gtk_window_get_application (parent));
    }
  self->path = g_strdup (path);
  basename = g_path_get_basename (path);
  adw_window_title_set_subtitle (self->title, basename);
  open_console (self);
  return self;
}

gboolean
dothi_sql_window_get_busy (DothiSqlWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_SQL_WINDOW (self), FALSE);

  return self->opening || is_busy (self);
}

const char *
dothi_sql_window_get_error_message (DothiSqlWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_SQL_WINDOW (self), NULL);

  return self->error_message;
}

const char *
dothi_sql_window_get_status_text (DothiSqlWindow *self)
{
  g_return_val_if_fail (DOTHI_IS_SQL_WINDOW (self), NULL);

  return self->status_text;
}
