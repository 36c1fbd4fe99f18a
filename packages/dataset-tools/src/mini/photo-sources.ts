/** One real photograph chosen from a Debian wallpaper package, with what its licence asks us to credit. */
export interface PhotoSource {
  /** File name under `packages/dataset-tools/photos/`. */
  file: string
  /** Debian package and version it was taken from. */
  package: string
  packageVersion: string
  /** Path of the original inside the package. */
  original: string
  author: string
  /** SPDX-style licence as the package's copyright file (and, for Plasma, the wallpaper's metadata.json) states it. */
  licence: string
  /** Copyright line as the package states it. */
  copyright: string
}

const LOMIRI_16 = { package: 'lomiri-wallpapers-16.04', packageVersion: '20.04.0-2' }
const LOMIRI_20 = { package: 'lomiri-wallpapers-20.04', packageVersion: '20.04.0-2' }
const MATE = { package: 'mate-backgrounds', packageVersion: '1.26.0-1' }
const PLASMA = { package: 'plasma-workspace-wallpapers', packageVersion: '4:5.27.5-2' }

const lomiri16 = (name: string, author: string, licence: string): PhotoSource => ({
  ...LOMIRI_16,
  file: `lomiri-${name.replace(/_by_.*$/, '').toLowerCase()}.jpg`,
  original: `usr/share/backgrounds/${name}.jpg`,
  author,
  licence,
  copyright: `${author}, 2018`,
})

const mate = (name: string, copyright: string): PhotoSource => ({
  ...MATE,
  file: `mate-${name.toLowerCase()}.jpg`,
  original: `usr/share/backgrounds/mate/nature/${name}.jpg`,
  author: copyright.replace(/\d{4}, /g, ''),
  licence: 'GPL-2.0-or-later',
  copyright,
})

const plasma = (name: string, image: string, author: string): PhotoSource => ({
  ...PLASMA,
  file: `plasma-${name.toLowerCase()}.jpg`,
  original: `usr/share/wallpapers/${name}/contents/images/${image}`,
  author,
  licence: 'GPL-2.0-or-later (Debian copyright); LGPL-3.0 (upstream metadata.json)',
  copyright: `${author}; 2014 KDE Visual Design Group`,
})

/**
 * The curated photographs. Illustrations, renders and abstract art in the same packages were left out
 * (lomiri `umang`, `Fossa`, `Infinite-Sea`, `Painting-Colors`; MATE `abstract/` and `desktop/`; Plasma's
 * rendered wallpapers such as Altai, Cascade, Volna, Honeywave, Kokkini).
 */
export const PHOTO_SOURCES: readonly PhotoSource[] = [
  lomiri16('aitzgorri_by_Aitzol_Berasategi', 'Aitzol Berasategi', 'CC-BY-4.0'),
  lomiri16('analogpattern_by_Peter_Nerlich', 'Peter Nerlich', 'CC-BY-SA-4.0'),
  lomiri16('Bridge_by_Sander_Klootwijk', 'Sander Klootwijk', 'CC-BY-SA-4.0'),
  lomiri16('Dragonfly_by_Bolly', '"Bolly"', 'CC-BY-SA-4.0'),
  lomiri16('free_by_Peter_Nerlich', 'Peter Nerlich', 'CC-BY-SA-4.0'),
  lomiri16('friends_by_Aitzol_Berasategi', 'Aitzol Berasategi', 'CC-BY-4.0'),
  lomiri16('greentock_by_Peter_Nerlich', 'Peter Nerlich', 'CC-BY-SA-4.0'),
  lomiri16('life_by_Aitzol_Berasategi', 'Aitzol Berasategi', 'CC-BY-4.0'),
  lomiri16('picosdeeuropa_by_Aitzol_Berasategi', 'Aitzol Berasategi', 'CC-BY-4.0'),
  { ...lomiri16('Picture_0B_by_freespace', 'Trevor "Freespace"', 'CC-BY-4.0'), file: 'lomiri-picture-0b.jpg' },
  { ...lomiri16('Picture_1A_by_freespace', 'Trevor "Freespace"', 'CC-BY-4.0'), file: 'lomiri-picture-1a.jpg' },
  lomiri16('seeding_by_Clements_Engelhardt', 'Clemens Engelhardt', 'CC0-1.0'),
  lomiri16('sunset_by_Aitzol_Berasategi', 'Aitzol Berasategi', 'CC-BY-4.0'),
  lomiri16('Wine_by_Jakkub_Mede', 'Jakub Mede', 'CC-BY-4.0'),
  {
    ...LOMIRI_20,
    file: 'lomiri-kleiber.jpg',
    original: 'usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg',
    author: 'Lukas Baubkus',
    licence: 'CC-BY-SA-3.0',
    copyright: '2021, Lukas Baubkus',
  },
  mate('Aqua', '2008, Charles Barbin'),
  mate('Blinds', '2008, Lennart Poettering; 2008, Andrea Cimitan'),
  mate('Dune', '2007, Marco Cogoni; 2008, Hylke Bons'),
  mate('FreshFlower', '2005, Jens Ansorg'),
  mate('Garden', '2008, Charles Barbin'),
  mate('GreenMeadow', '2005, Timothy Schellhase; 2008, Lapo Calamandrei'),
  mate('LadyBird', '2008, Charles Barbin'),
  mate('RainDrops', '2008, "blackcombwhistler07"'),
  mate('Storm', '2008, Sergey Nazarov'),
  mate('TwoWings', '2008, Charles Barbin; 2008, Hylke Bons'),
  mate('Wood', '2008, Jean-François Fortin Tam'),
  mate('YellowFlower', '2008, Charles Barbin'),
  plasma('BytheWater', '2560x1600.jpg', 'Maciej Wiklo'),
  plasma('ColdRipple', '2560x1600.jpg', 'Risto Saukonpää'),
  plasma('ColorfulCups', '2560x1600.jpg', 'Dmitri Popov'),
  plasma('DarkestHour', '2560x1600.jpg', 'Risto Saukonpää'),
  plasma('EveningGlow', '2560x1600.jpg', 'Ian Hex'),
  plasma('FallenLeaf', '2560x1600.jpg', 'Martin Klapetek'),
  plasma('Grey', '2560x1600.jpg', 'Sigi Sagi'),
  plasma('Kite', '2560x1600.jpg', 'Risto Saukonpää'),
  plasma('OneStandsOut', '2560x1600.jpg', 'Risto Saukonpää'),
  plasma('Path', '2560x1600.jpg', 'Risto Saukonpää'),
  plasma('summer_1am', '2560x1600.jpg', 'Risto Saukonpää'),
]
