/* dothi-sensor-chart.h: a sensor's readings as a line chart drawn with
 * cairo: axes, dates in the Vietnamese style (dd/mm HH:mm, ICT) and the
 * kind's threshold lines. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DOTHI_TYPE_SENSOR_CHART (dothi_sensor_chart_get_type ())
G_DECLARE_FINAL_TYPE (DothiSensorChart, dothi_sensor_chart, DOTHI, SENSOR_CHART, GtkWidget)

GtkWidget *dothi_sensor_chart_new (void);

/* @readings: double pairs (unix seconds, value), as dothi_live_readings
 * returns them (referenced); NULL clears the chart. The time axis runs
 * over [@since, @until); @low and @high are the threshold lines (NAN for
 * none); @unit names the value axis. */
void       dothi_sensor_chart_set_readings (DothiSensorChart *self,
                                            GArray           *readings,
                                            gint64            since,
                                            gint64            until,
                                            const char       *unit,
                                            double            low,
                                            double            high);
/* Points charted (for tests). */
guint      dothi_sensor_chart_get_n_points (DothiSensorChart *self);
/* A text shown in place of the chart ("No readings…"), or NULL. */
void       dothi_sensor_chart_set_message  (DothiSensorChart *self,
                                            const char       *message);

/* "23/11 09:15": @time (unix seconds) in ICT, UTC+7. */
char      *dothi_sensor_chart_format_time  (gint64 time);

G_END_DECLS
