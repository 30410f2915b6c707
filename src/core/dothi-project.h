/* dothi-project.h: a Dothi project, one SpatiaLite file (.dothi) that holds
 * every layer, the layer registry and Dothi's own tables. */
#pragma once

#include <gio/gio.h>
#include "dothi-layer-info.h"
#include "dothi-store.h"
#include "dothi-style.h"

G_BEGIN_DECLS

/* Bumped whenever Dothi's own tables change; older files are migrated. */
#define DOTHI_PROJECT_SCHEMA_VERSION 1
#define DOTHI_PROJECT_DEFAULT_CRS "EPSG:9218"

#define DOTHI_TYPE_PROJECT (dothi_project_get_type ())
G_DECLARE_FINAL_TYPE (DothiProject, dothi_project, DOTHI, PROJECT, GObject)

typedef enum {
  DOTHI_PROJECT_OPEN_DEFAULT   = 0,
  DOTHI_PROJECT_OPEN_READ_ONLY = 1 << 0,
  /* On a network or FUSE file system, where a project opens read-only:
   * edit anyway, with a rollback journal instead of WAL and a lock file
   * (<project>.lock naming host, user and process) that keeps a second
   * Dothi out; DOTHI_ERROR_BUSY while another holds it (DESIGN.md §2). */
  DOTHI_PROJECT_OPEN_EDIT_ANYWAY = 1 << 1,
} DothiProjectOpenFlags;

/* Creates a new project file at @path in @crs ("EPSG:9218"; NULL for the
 * default). An existing file is DOTHI_ERROR_EXISTS. */
DothiProject *dothi_project_create (const char  *path,
                                    const char  *crs,
                                    GError     **error);

/* Opens @path, migrating an older schema in one transaction; a newer schema
 * is DOTHI_ERROR_VERSION, a file that is not a project DOTHI_ERROR_INVALID_DATA. */
DothiProject *dothi_project_open   (const char             *path,
                                    DothiProjectOpenFlags   flags,
                                    GError                **error);

const char   *dothi_project_get_path   (DothiProject *self);
const char   *dothi_project_get_uuid   (DothiProject *self);
int           dothi_project_get_srid   (DothiProject *self);
/* "EPSG:9218" */
const char   *dothi_project_get_crs    (DothiProject *self);
int           dothi_project_get_schema_version (DothiProject *self);
gboolean      dothi_project_get_read_only (DothiProject *self);
/* TRUE when the file lies on a network or FUSE file system: opened
 * read-only unless DOTHI_PROJECT_OPEN_EDIT_ANYWAY was given. */
gboolean      dothi_project_get_on_network_fs (DothiProject *self);
/* For tests: treat every folder as a network file system. */
void          dothi_project_assume_network_fs (gboolean assume);
/* The storage behind the project; borrowed, used from the owning thread. */
DothiStore   *dothi_project_get_store  (DothiProject *self);

/* The layers in z-order (bottom first): DothiLayerInfo* elements. */
GPtrArray    *dothi_project_list_layers (DothiProject  *self,
                                         GError       **error);
DothiLayerInfo *dothi_project_get_layer (DothiProject  *self,
                                         const char    *name,
                                         GError       **error);

/* A SHA-256 over the layer's rows in fid order (attributes and geometry,
 * columns in name order), so tests and tools can prove a layer unchanged. */
char         *dothi_project_layer_checksum (DothiProject  *self,
                                            const char    *name,
                                            GError       **error);

/* Display state of a layer in the registry; each call is one action. */
gboolean      dothi_project_set_layer_visible (DothiProject  *self,
                                               const char    *name,
                                               gboolean       visible,
                                               GError       **error);
gboolean      dothi_project_set_layer_opacity (DothiProject  *self,
                                               const char    *name,
                                               double         opacity,
                                               GError       **error);
/* Moves layer @name to @position in the z-order (0 is the bottom). */
gboolean      dothi_project_move_layer        (DothiProject  *self,
                                               const char    *name,
                                               guint          position,
                                               GError       **error);
/* Layer and field actions: each is one action in the history, journalled
 * with its inverse so undo, redo and revert work on it (DESIGN.md §2).
 * They return the action id (> 0), or 0 with @error. */

/* Adds field @name (a lower-case ASCII slug, not reserved: else
 * DOTHI_ERROR_INVALID_DATA; DOTHI_ERROR_EXISTS when the layer has it) of
 * @type to layer @layer. Undo removes it again, unless a feature has a
 * value in it by then (DOTHI_ERROR_CONFLICT). */
gint64        dothi_project_add_field         (DothiProject    *self,
                                               const char      *layer,
                                               const char      *name,
                                               DothiFieldType   type,
                                               GError         **error);
/* Removes field @name of layer @layer; its values are kept in the file
 * (a hidden "dothi_trash_…" table) and undo puts them back, the field
 * then at the end of the table. An indexed field is DOTHI_ERROR_UNSUPPORTED. */
gint64        dothi_project_remove_field      (DothiProject    *self,
                                               const char      *layer,
                                               const char      *name,
                                               GError         **error);
/* Gives layer @layer the title @title (the table name stays); an empty
 * title is DOTHI_ERROR_INVALID_DATA, the same one DOTHI_ERROR_NOTHING. */
gint64        dothi_project_rename_layer      (DothiProject    *self,
                                               const char      *layer,
                                               const char      *title,
                                               GError         **error);
/* The layer's stored style, or its default when none is stored. */
DothiStyle   *dothi_project_dup_style         (DothiProject  *self,
                                               const char    *name,
                                               GError       **error);
gboolean      dothi_project_set_style         (DothiProject      *self,
                                               const char        *name,
                                               const DothiStyle  *style,
                                               GError           **error);
/* Up to @limit distinct non-null values of @field as text, sorted: for
 * categorised styles. An unknown field is DOTHI_ERROR_NOT_FOUND. */
GPtrArray    *dothi_project_distinct_values   (DothiProject  *self,
                                               const char    *layer,
                                               const char    *field,
                                               guint          limit,
                                               GError       **error);

/* How long an action waits for another program's write lock before it
 * fails with DOTHI_ERROR_BUSY; 5000 ms by default. */
void          dothi_project_set_busy_timeout (DothiProject *self,
                                              guint         ms);

/* Flushes the WAL into the main file (wal_checkpoint(TRUNCATE)). */
gboolean      dothi_project_checkpoint (DothiProject *self, GError **error);
void          dothi_project_close      (DothiProject *self);

G_END_DECLS
