// The echarts parts the console uses, registered once (keeps the bundle to what is drawn).
import { use } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, LegendComponent, DataZoomComponent } from 'echarts/components';

use([CanvasRenderer, LineChart, ScatterChart, GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, LegendComponent, DataZoomComponent]);
