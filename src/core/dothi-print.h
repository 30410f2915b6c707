/* dothi-print.h: prints a layout to PDF (vector, text as text), SVG or
 * PNG with cairo and pango, drawn in the project CRS: the VN-2000 grid
 * is straight on paper. One page, or one page per feature of an atlas
 * layer. Runs on any thread with its own read-only connection; writes a
 * temporary file renamed at the end, so a cancelled or failed print
 * leaves nothing (DESIGN.md §6 Print). */
#pragma once

#include <gio/gio.h>
#include <cairo.h>
#include "dothi-layout.h"
#include "dothi-types.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_PRINT_PDF,
  DOTHI_PRINT_SVG,
  DOTHI_PRINT_PNG,
} DothiPrintFormat;

/* From @format ("pdf", "svg", "png") or else @path's extension; FALSE if
 * neither names one. */
gboolean dothi_print_format_for (const char *format, const char *path, DothiPrintFormat *out);

typedef struct {
  DothiPrintFormat format;
  double           dpi;          /* PNG (0: 300), and the raster of features too small to
                                  * show at the map's scale (0: 150 for PDF and SVG) */
  const char      *atlas_layer;  /* NULL: the layout's "atlas", if any, else one page */
  const char      *atlas_where;  /* an attribute condition on the atlas layer, or NULL */
} DothiPrintOptions;

/* How many pages printing @layout would make (1 without an atlas), so a
 * caller can warn before a long job. An atlas layer with no feature is
 * DOTHI_ERROR_INVALID_DATA naming it. */
gint64   dothi_print_count_pages (const char         *project_path,
                                  DothiLayout        *layout,
                                  const DothiPrintOptions *options,
                                  GError            **error);

/* Prints @layout of the project at @project_path to @out_path. An
 * existing @out_path is replaced only when the print succeeds. A map
 * frame with no layer to draw, a scale of 0 with no extent, a page over
 * A0, a font without Vietnamese letters: DOTHI_ERROR_INVALID_DATA, with
 * nothing written. @progress is called on the printing thread. */
gboolean dothi_print_sync (const char              *project_path,
                           DothiLayout             *layout,
                           const DothiPrintOptions *options,
                           const char              *out_path,
                           GCancellable            *cancellable,
                           DothiProgressFunc        progress,
                           gpointer                 progress_data,
                           GError                 **error);

/* A printer keeps one read-only connection, the layers and their styles
 * for several pages or previews (one thread at a time). */
typedef struct _DothiPrinter DothiPrinter;

DothiPrinter *dothi_printer_new  (const char *project_path, GError **error);
void          dothi_printer_free (DothiPrinter *printer);
/* Draws page @page (0-based; an atlas page when the layout or @options
 * has an atlas) of @layout into @cr, whose user space must be the page in
 * millimetres (origin at its top-left corner); @dpi sets the detail of
 * sub-pixel features (a preview draws at screen resolution). A @page
 * past the atlas's last draws the last. */
gboolean      dothi_printer_draw_page (DothiPrinter            *printer,
                                       DothiLayout             *layout,
                                       const DothiPrintOptions *options,
                                       guint                    page,
                                       cairo_t                 *cr,
                                       double                   dpi,
                                       GCancellable            *cancellable,
                                       GError                 **error);

/* dothi_print_count_pages () on @printer's connection. */
gint64        dothi_printer_count_pages (DothiPrinter            *printer,
                                         DothiLayout             *layout,
                                         const DothiPrintOptions *options,
                                         GError                 **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiPrinter, dothi_printer_free)

/* The land office's parcel extract (trích lục thửa đất) of parcel @fid
 * of @layer, on one A4 page: the sketch with its neighbours and their
 * numbers, the vertex table (X = northing, Y = easting, in the project's
 * VN-2000 zone), edge lengths, the area to 0.1 m², and the parcel's
 * sheet, number, owner, use and address fields where the layer has them
 * (TT 25/2014 field names and common variants). */
gboolean dothi_print_parcel_extract (const char    *project_path,
                                     const char    *layer,
                                     gint64         fid,
                                     const char    *out_path,
                                     DothiPrintFormat format,
                                     GCancellable  *cancellable,
                                     GError       **error);

G_END_DECLS
