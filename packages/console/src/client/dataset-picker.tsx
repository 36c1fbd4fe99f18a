import type { DatasetSummary } from '@genimage/shared'
import { BUILDING_NOTE, datasetLabel, generatorCounts, OTHER_DATASET } from './datasets.ts'

export interface DatasetPickerProps {
  datasets: readonly DatasetSummary[]
  /** The chosen dataset's `dataRoot`, or {@link OTHER_DATASET}. */
  value: string
  /** Generator folders ticked, in the dataset's order. */
  generators: readonly string[]
  onPick(value: string): void
  onGenerators(generators: string[]): void
  /** Contract problems with `dataRoot` or `generators`, worded as the API words them. */
  problems: string
}

/**
 * The experiment form's dataset: a select of the datasets the stack lists (`GET /v1/datasets`, ready ones only;
 * one still building is shown but cannot be chosen) or "another folder", and the chosen one's generators as boxes.
 */
export function DatasetPicker(props: DatasetPickerProps) {
  const chosen = props.datasets.find((d) => d.dataRoot === props.value)
  const building = props.datasets.filter((d) => d.state === 'building')
  const toggle = (name: string) => (event: Event) => {
    const on = (event.target as HTMLInputElement).checked
    const names = (chosen?.generators ?? []).map((g) => g.name)
    props.onGenerators(names.filter((n) => (n === name ? on : props.generators.includes(n))))
  }
  return (
    <>
      <div class="field dataset-field">
        <label for="exp-dataset">Dataset</label>
        <select
          id="exp-dataset"
          value={props.value}
          onChange={(e: Event) => props.onPick((e.target as HTMLSelectElement).value)}
          aria-describedby="exp-dataset-help"
        >
          {props.datasets.map((d) => (
            <option value={d.dataRoot} disabled={d.state !== 'ready'}>
              {datasetLabel(d)}
            </option>
          ))}
          <option value={OTHER_DATASET}>Another folder (type its path)</option>
        </select>
        <span id="exp-dataset-help" class="note">
          {chosen ? chosen.dataRoot : 'datasets in the folders this stack lists (DATASET_DIRS)'}
        </span>
        {building.map((d) => (
          <p class="note building" role="status">
            {d.name} is still being built ({d.build?.phase ?? 'starting'}
            {d.build && d.build.total > 0 ? ` ${d.build.done}/${d.build.total}` : ''}): {BUILDING_NOTE}
          </p>
        ))}
        {chosen?.note && <p class="warning">{chosen.note}</p>}
      </div>
      {chosen && (
        <fieldset class="generators" aria-describedby="exp-generators-help">
          <legend>Generators</legend>
          {chosen.generators.map((g) => (
            <label class="check">
              <input type="checkbox" checked={props.generators.includes(g.name)} onChange={toggle(g.name)} /> {g.name}{' '}
              <span class="note">({generatorCounts(g)})</span>
            </label>
          ))}
          <span id="exp-generators-help" class={props.problems ? 'error' : 'note'}>
            {props.problems || 'each ticked generator is a row (and, for Table 4, a model) of the tables'}
          </span>
        </fieldset>
      )}
    </>
  )
}
