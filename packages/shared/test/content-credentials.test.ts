import { describe, expect, it } from 'vitest'
import { type ContentCredentials, credentialsProveAi, isAiDigitalSourceType, noContentCredentials } from '../src/contracts/content-credentials.ts'

const IPTC = 'http://cv.iptc.org/newscodes/digitalsourcetype/'

describe('content credentials rules', () => {
  it('counts exactly the three model-made IPTC source types as declaring AI, as bare terms or URIs', () => {
    for (const term of ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia', 'algorithmicMedia']) {
      expect([isAiDigitalSourceType(term), isAiDigitalSourceType(`${IPTC}${term}`)]).toEqual([true, true])
    }
    for (const other of ['digitalCapture', `${IPTC}compositeCapture`, `${IPTC}minorHumanEdits`, '', null, undefined])
      expect(isAiDigitalSourceType(other)).toBe(false)
  })

  it('lets only valid credentials that declare AI settle the verdict', () => {
    const declared = (state: ContentCredentials['state'], declaresAi = true): ContentCredentials => ({
      ...noContentCredentials(),
      present: true,
      state,
      declares_ai: declaresAi,
    })
    expect(credentialsProveAi(declared('valid'))).toBe(true)
    for (const c of [declared('untrusted'), declared('invalid'), declared('valid', false), noContentCredentials(), null, undefined])
      expect(credentialsProveAi(c)).toBe(false)
  })
})
