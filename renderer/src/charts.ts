// The echarts parts the console uses, registered once. SVG rendering: crisp, light for these small charts, and testable without a canvas.
import { use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, LegendComponent, DataZoomComponent } from 'echarts/components';

use([SVGRenderer, LineChart, ScatterChart, GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, LegendComponent, DataZoomComponent]);
